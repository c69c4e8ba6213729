"""The raw mail a message came in as: kept in the store and downloadable (.eml) only by those who may
read the message, with the read audit of attachments (sensitive downloads and refusals recorded)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import receive_and_commit
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from tests.conftest import LiveServer
from tests.desk.channels.mail import mail
from tests.desk.test_access_matrix import build_world
from tests.factories import make_token


def _actions(session_factory: sessionmaker[Session], ticket_id: int) -> list[tuple[int | None, str, object]]:
    with session_factory() as fresh:
        rows = fresh.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == "ticket", AuditEntry.subject_id == ticket_id)
            .order_by(AuditEntry.id)
        )
        return [(r.actor_id, r.action, (r.detail or {}).get("message_id")) for r in rows]


def test_raw_mail_is_downloaded_under_the_ticket_rules_and_audited_when_sensitive(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    store: AttachmentStore,
    settings: Settings,
    live_server: LiveServer,
) -> None:
    world = build_world(db, clock)
    raw = mail(sender="Own <requester_own@example.com>", subject="Lab results", text="Results attached.",
               headers={"X-Mailer": "Test client 1.0"})  # fmt: skip
    filed = receive_and_commit(session_factory, raw=raw, clock=clock, store=store, settings=settings)
    assert filed.ticket_id is not None and filed.message_id is not None
    ticket = db.get_one(Ticket, filed.ticket_id)
    note = actions.add_message(
        db, ticket=ticket, author=world.people["agent_l2"], author_kind=AuthorKind.AGENT, public=False,
        channel=Channel.WEB, clock=clock, body_text="internal",
    )  # fmt: skip
    people = world.people
    tokens = {name: make_token(db, clock, people[name]) for name in ("agent_l1", "agent_l2", "requester_own")}
    db.commit()
    url = f"/api/v1/tickets/{ticket.id}/messages/{filed.message_id}/raw"

    # Not sensitive: every reader of the ticket may download it, and nothing is audited.
    got = live_server.client(tokens["agent_l1"]).get(url)
    assert got.status_code == 200, got.text
    assert got.content == raw
    assert got.headers["content-type"] == "message/rfc822"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="ticket-{ticket.id}-message-{filed.message_id}.eml"'
    )
    assert _actions(session_factory, ticket.id) == []

    ticket.sensitive = True
    db.commit()
    l1, l2, own = (people[n].id for n in ("agent_l1", "agent_l2", "requester_own"))
    assert live_server.client(tokens["agent_l1"]).get(url).status_code == 404
    assert live_server.client(tokens["agent_l2"]).get(url).content == raw
    assert live_server.client(tokens["requester_own"]).get(url).content == raw
    # A message that did not come in by mail, one on another ticket, and an internal note asked for
    # by the requester: each refused as not found, the refusal recorded.
    own_client = live_server.client(tokens["requester_own"])
    assert own_client.get(f"/api/v1/tickets/{ticket.id}/messages/{note.id}/raw").status_code == 404
    other = world.normal.messages[0].id
    assert (
        live_server.client(tokens["agent_l2"])
        .get(f"/api/v1/tickets/{ticket.id}/messages/{other}/raw")
        .status_code
        == 404
    )
    assert (
        live_server.client(tokens["agent_l2"]).get(f"/api/v1/tickets/{ticket.id}/messages/0/raw").status_code
        == 422
    )
    assert _actions(session_factory, ticket.id) == [
        (l1, "ticket_read_denied", None),
        (l2, "ticket_read", None),
        (l2, "raw_email_downloaded", filed.message_id),
        (own, "ticket_read", None),
        (own, "raw_email_downloaded", filed.message_id),
        # A refused request rolls back its read row; the refusal, written apart, stays.
        (own, "raw_email_download_denied", note.id),
        (l2, "raw_email_download_denied", other),
    ]
