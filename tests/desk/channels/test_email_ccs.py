"""Cc recipients: recorded from the customer's mail (never our own addresses), copied on every public
agent reply, and removable by the agent through the API and the ticket page, each change an event."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.models import Event, Role, User
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.ccs import MAX_CCS, ticket_ccs
from opsdesk.desk.channels.email.inbound import Outcome, receive_and_commit
from opsdesk.desk.channels.email.outbound import send_pending
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from opsdesk.web.deps import SESSION_COOKIE
from tests.conftest import LiveServer
from tests.desk.channels.mail import mail
from tests.desk.channels.sink import smtp_sink
from tests.factories import make_token, make_user


def _events(
    session_factory: sessionmaker[Session], ticket_id: int
) -> list[tuple[str, dict[str, object], int | None]]:
    with session_factory() as fresh:
        rows = fresh.scalars(
            select(Event)
            .where(Event.subject_id == ticket_id, Event.type.in_(["cc_added", "cc_removed"]))
            .order_by(Event.id)
        )
        return [(e.type, dict(e.data or {}), e.actor_id) for e in rows]


def _file(session_factory: sessionmaker[Session], raw: bytes, clock: FixedClock, store: AttachmentStore,
          settings: Settings) -> int:  # fmt: skip
    result = receive_and_commit(session_factory, raw=raw, clock=clock, store=store, settings=settings)
    assert result.outcome in (Outcome.CREATED, Outcome.APPENDED), result
    assert result.ticket_id is not None
    return result.ticket_id


def _reply(
    session_factory: sessionmaker[Session], clock: FixedClock, ticket_id: int, agent: User, text: str
) -> None:
    with transaction(session_factory) as session:
        actions.add_message(
            session, ticket=session.get_one(Ticket, ticket_id), author=agent, author_kind=AuthorKind.AGENT,
            public=True, channel=Channel.WEB, clock=clock, body_text=text,
        )  # fmt: skip


def test_other_recipients_are_recorded_once_and_copied_on_replies(
    session_factory: sessionmaker[Session], clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    raw = mail(
        message_id="<cc-1@acme.example>",
        to="Support <support@opsdesk.test>, Lee Colleague <lee@acme.example>",
        headers={"Cc": "Boss <BOSS@acme.example>, billing@opsdesk.test, dana@acme.example, not-an-address"},
    )
    ticket_id = _file(session_factory, raw, clock, store, settings)
    with session_factory() as fresh:
        assert ticket_ccs(fresh, ticket_id) == ["boss@acme.example", "lee@acme.example"]
    # The customer's next mail names the same people again: nothing is added twice.
    again = mail(message_id="<cc-2@acme.example>", subject=f"Re: Printer on fire [#{ticket_id}]",
                 in_reply_to="<cc-1@acme.example>", headers={"Cc": "lee@acme.example"})  # fmt: skip
    assert _file(session_factory, again, clock, store, settings) == ticket_id
    assert [(t, d) for t, d, _a in _events(session_factory, ticket_id)] == [
        ("cc_added", {"address": "lee@acme.example", "via": "email"}),
        ("cc_added", {"address": "boss@acme.example", "via": "email"}),
    ]

    with transaction(session_factory) as session:
        agent = make_user(session, clock, Role.AGENT, email="agent@opsdesk.test")
    with smtp_sink() as sink:
        mail_settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})
        _reply(session_factory, clock, ticket_id, agent, "We are on it")
        assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    [(_sender, recipients, _raw)] = sink.received
    assert sorted(recipients) == ["boss@acme.example", "dana@acme.example", "lee@acme.example"]
    [sent] = sink.messages()
    assert sent["To"] == "dana@acme.example"
    assert sent["Cc"] == "boss@acme.example, lee@acme.example"


def test_a_mail_to_a_crowd_records_at_most_the_limit(
    session_factory: sessionmaker[Session], clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    crowd = ", ".join(f"person{n}@acme.example" for n in range(MAX_CCS + 5))
    ticket_id = _file(session_factory, mail(headers={"Cc": crowd}), clock, store, settings)
    with session_factory() as fresh:
        assert len(ticket_ccs(fresh, ticket_id)) == MAX_CCS


def test_the_agent_removes_a_cc_through_the_api_and_the_page(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    store: AttachmentStore,
    settings: Settings,
    live_server: LiveServer,
) -> None:
    raw = mail(headers={"Cc": "lee@acme.example, boss@acme.example"})
    ticket_id = _file(session_factory, raw, clock, store, settings)
    agent = make_user(db, clock, Role.AGENT, email="agent@opsdesk.test")
    analyst = make_user(db, clock, Role.ANALYST, email="analyst@opsdesk.test")
    requester = db.scalars(select(User).where(User.email == "dana@acme.example")).one()
    tokens = {u: make_token(db, clock, u) for u in (agent, analyst, requester)}
    db.commit()

    api = live_server.client(tokens[agent])
    assert api.get(f"/api/v1/tickets/{ticket_id}/ccs").json() == [
        {"address": "boss@acme.example"}, {"address": "lee@acme.example"},
    ]  # fmt: skip
    # Those who may read but not change the ticket are refused, and nothing changes.
    for reader in (analyst, requester):
        refused = live_server.client(tokens[reader]).delete(
            f"/api/v1/tickets/{ticket_id}/ccs/lee@acme.example"
        )
        assert refused.status_code == 403, refused.text
    assert api.delete(f"/api/v1/tickets/{ticket_id}/ccs/nobody@acme.example").status_code == 404
    assert api.delete(f"/api/v1/tickets/{ticket_id}/ccs/LEE@acme.example").status_code == 204
    with session_factory() as fresh:
        assert ticket_ccs(fresh, ticket_id) == ["boss@acme.example"]

    # The page lists the Cc and its remove button posts the form a browser would.
    row, cookie = core_actions.start_browser_session(db, user=agent, clock=clock)
    db.commit()
    page = httpx.Client(base_url=live_server.url, timeout=10, follow_redirects=False)
    page.cookies.set(SESSION_COOKIE, cookie)
    shown = page.get(f"/tickets/{ticket_id}")
    assert re.findall(r'data-testid="cc">([^ <]+)', shown.text) == ["boss@acme.example"]
    removed = page.post(f"/tickets/{ticket_id}/ccs/remove",
                        data={"address": "boss@acme.example", "csrf_token": row.csrf_token})  # fmt: skip
    assert removed.status_code == 303
    with session_factory() as fresh:
        assert ticket_ccs(fresh, ticket_id) == []
    assert [(t, d, a) for t, d, a in _events(session_factory, ticket_id) if t == "cc_removed"] == [
        ("cc_removed", {"address": "lee@acme.example"}, agent.id),
        ("cc_removed", {"address": "boss@acme.example"}, agent.id),
    ]


def test_only_the_requester_their_colleagues_and_those_copied_add_ccs(
    session_factory: sessionmaker[Session], clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    first = mail(message_id="<s-1@acme.example>", headers={"Cc": "lee@acme.example"})
    ticket_id = _file(session_factory, first, clock, store, settings)
    with transaction(session_factory) as session:
        agent = make_user(session, clock, Role.AGENT, email="agent@opsdesk.test")
        actions.add_message(
            session, ticket=session.get_one(Ticket, ticket_id), author=agent, author_kind=AuthorKind.AGENT,
            public=True, channel=Channel.WEB, clock=clock, body_text="answer",
            email_message_id="ours-1@opsdesk.test",
        )  # fmt: skip
    # Someone the answer was forwarded to replies to it: their message joins the ticket, their Cc does not.
    stranger = mail(
        sender="Eve <eve@elsewhere.example>",
        message_id="<s-2@elsewhere.example>",
        in_reply_to="<ours-1@opsdesk.test>",
        headers={"Cc": "mallory@elsewhere.example"},
    )
    assert _file(session_factory, stranger, clock, store, settings) == ticket_id
    # Lee, copied by the customer, may copy someone in turn.
    lee = mail(sender="Lee <lee@acme.example>", message_id="<s-3@acme.example>",
               in_reply_to="<ours-1@opsdesk.test>", headers={"Cc": "kim@acme.example"})  # fmt: skip
    assert _file(session_factory, lee, clock, store, settings) == ticket_id
    with session_factory() as fresh:
        assert ticket_ccs(fresh, ticket_id) == ["kim@acme.example", "lee@acme.example"]
