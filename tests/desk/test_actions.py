"""Ticket writes: fields, status rules, escalation, merging, auto-close, attachments and their events."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, TooLarge, ValidationFailed
from opsdesk.core.models import Event, Role, Tier, User
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.email.models import OutboundEmail
from opsdesk.desk.models import AuthorKind, Channel, IdempotencyKey, Priority, Status, Ticket, TicketType
from tests.factories import make_user


def people(db: Session, clock: FixedClock) -> tuple[User, User, User]:
    org = core_actions.create_organisation(db, name="Acme", clock=clock)
    requester = make_user(db, clock, Role.REQUESTER, email="pat@acme.test", organisation=org, password=None)
    l1 = make_user(db, clock, Role.AGENT, tier=Tier.L1, email="l1@desk.test", password=None)
    l2 = make_user(db, clock, Role.AGENT, tier=Tier.L2, email="l2@desk.test", password=None)
    return requester, l1, l2


def events(db: Session, ticket: Ticket, type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    db.flush()
    query = select(Event).where(Event.subject_type == "ticket", Event.subject_id == ticket.id)
    if type:
        query = query.where(Event.type == type)
    return [(e.type, e.data) for e in db.scalars(query.order_by(Event.id))]


def new_ticket(db: Session, clock: FixedClock, requester: User, **kw: Any) -> Ticket:
    kw.setdefault("body_text", "My invoice is wrong")
    return actions.create_ticket(
        db, requester=requester, subject="Invoice", channel=Channel.EMAIL, clock=clock, **kw
    )


def reply(db: Session, clock: FixedClock, ticket: Ticket, author: User, public: bool = True) -> None:
    kind = AuthorKind.AGENT if author.is_staff else AuthorKind.REQUESTER
    actions.add_message(
        db, ticket=ticket, author=author, author_kind=kind, public=public, channel=Channel.WEB, clock=clock,
        body_text="A reply",
    )  # fmt: skip


def test_create_ticket_records_fields_first_message_and_events(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    group = core_actions.create_group(db, name="Billing", tier=Tier.L1)
    ticket = actions.create_ticket(
        db, requester=requester, subject="  Charged   twice ", body_html="<p>Hello <b>team</b></p>",
        channel=Channel.EMAIL, clock=clock, priority=Priority.HIGH, type=TicketType.INCIDENT,
        tags=["Billing Issue", "billing_issue", "vip"], custom_fields={"plan": "gold"}, group=group,
        assignee=l1,
    )  # fmt: skip
    db.commit()
    assert ticket.subject == "Charged twice"
    assert ticket.status is Status.NEW
    assert ticket.organisation_id == requester.organisation_id
    assert ticket.tags == ["billing_issue", "vip"]
    assert ticket.custom_fields == {"plan": "gold"}
    assert (ticket.group_id, ticket.assignee_id, ticket.tier) == (group.id, l1.id, Tier.L1)
    [message] = ticket.messages
    assert (message.author_id, message.author_kind, message.public) == (
        requester.id,
        AuthorKind.REQUESTER,
        True,
    )
    assert message.body_text == "Hello team"
    types = [t for t, _ in events(db, ticket)]
    assert types[:3] == ["ticket_created", "assigned", "message_added"]
    created = events(db, ticket, "ticket_created")[0][1]
    assert created["tags"] == ["billing_issue", "vip"] and created["created_by_agent"] is False
    assert created["requester_id"] == requester.id and created["priority"] == "high"


def test_subject_and_body_are_required(db: Session, clock: FixedClock) -> None:
    requester, _, _ = people(db, clock)
    with pytest.raises(ValidationFailed) as err:
        actions.create_ticket(
            db, requester=requester, subject="  ", body_text="x", channel=Channel.WEB, clock=clock
        )
    assert err.value.field == "subject"
    with pytest.raises(ValidationFailed) as err:
        actions.create_ticket(db, requester=requester, subject="Hi", body_html="<script>x</script>",
                              channel=Channel.WEB, clock=clock)  # fmt: skip
    assert err.value.field == "body"


def test_replays_by_idempotency_key_external_id_and_message_id_return_the_first_ticket(
    db: Session, clock: FixedClock
) -> None:
    requester, _, _ = people(db, clock)
    first = new_ticket(db, clock, requester, idempotency=("api:1", "k1", "hash-a"))
    assert new_ticket(db, clock, requester, idempotency=("api:1", "k1", "hash-a")).id == first.id
    with pytest.raises(Conflict):
        new_ticket(db, clock, requester, idempotency=("api:1", "k1", "hash-b"))
    assert new_ticket(db, clock, requester, idempotency=("api:2", "k1", "hash-b")).id != first.id
    by_external = new_ticket(db, clock, requester, external_id="crm-9")
    assert new_ticket(db, clock, requester, external_id="crm-9").id == by_external.id
    by_mail = new_ticket(db, clock, requester, email_message_id="abc@mail")
    assert new_ticket(db, clock, requester, email_message_id="abc@mail").id == by_mail.id
    assert (
        db.scalar(
            select(IdempotencyKey.ticket_id).where(
                IdempotencyKey.key == "k1", IdempotencyKey.scope == "api:1"
            )
        )
        == first.id
    )
    assert len(db.scalars(select(Ticket)).all()) == 4


def test_first_public_agent_reply_opens_a_new_ticket_but_a_note_does_not(
    db: Session, clock: FixedClock
) -> None:
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester)
    reply(db, clock, ticket, l1, public=False)
    assert ticket.status is Status.NEW
    reply(db, clock, ticket, l1)
    assert ticket.status is Status.OPEN
    assert events(db, ticket, "status_changed") == [("status_changed", {"from": "new", "to": "open"})]


@pytest.mark.parametrize("start", [Status.PENDING, Status.SOLVED])
def test_requester_reply_reopens_pending_and_solved(db: Session, clock: FixedClock, start: Status) -> None:
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester)
    reply(db, clock, ticket, l1)
    actions.change_status(db, ticket=ticket, to=start, actor=l1, clock=clock)
    reply(db, clock, ticket, requester)
    assert ticket.status is Status.OPEN


def test_on_hold_stays_on_hold_on_a_requester_reply(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester)
    actions.change_status(db, ticket=ticket, to=Status.ON_HOLD, actor=l1, clock=clock)
    reply(db, clock, ticket, requester)
    assert ticket.status is Status.ON_HOLD


def test_closed_is_final_and_a_reply_to_it_becomes_a_follow_up(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester, tags=["billing"])
    with pytest.raises(ValidationFailed):
        actions.change_status(db, ticket=ticket, to=Status.CLOSED, actor=l1, clock=clock)
    actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=l1, clock=clock)
    actions.change_status(db, ticket=ticket, to=Status.CLOSED, actor=l1, clock=clock)
    assert ticket.closed_at == clock.now()
    with pytest.raises(Conflict):
        actions.change_status(db, ticket=ticket, to=Status.OPEN, actor=l1, clock=clock)
    with pytest.raises(Conflict):
        reply(db, clock, ticket, requester)
    follow_up = actions.create_follow_up(
        db, closed=ticket, channel=Channel.EMAIL, clock=clock, body_text="Again"
    )
    assert follow_up.follow_up_of_id == ticket.id and follow_up.tags == ["billing"]
    assert follow_up.requester_id == requester.id
    assert events(db, follow_up, "follow_up_created") == [("follow_up_created", {"of": ticket.id})]
    with pytest.raises(ValidationFailed):
        actions.create_follow_up(db, closed=follow_up, channel=Channel.EMAIL, clock=clock, body_text="x")


def test_a_ticket_cannot_go_back_to_new(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester)
    reply(db, clock, ticket, l1)
    with pytest.raises(ValidationFailed):
        actions.change_status(db, ticket=ticket, to=Status.NEW, actor=l1, clock=clock)


def test_escalation_moves_to_l2_with_reason_and_releases_the_l1_assignee(
    db: Session, clock: FixedClock
) -> None:
    requester, l1, _ = people(db, clock)
    l1_group = core_actions.create_group(db, name="Advocates", tier=Tier.L1)
    l2_group = core_actions.create_group(db, name="Engineers", tier=Tier.L2)
    ticket = new_ticket(db, clock, requester, group=l1_group, assignee=l1)
    with pytest.raises(ValidationFailed):
        actions.escalate(db, ticket=ticket, reason="  ", actor=l1, clock=clock)
    with pytest.raises(ValidationFailed):
        actions.escalate(db, ticket=ticket, reason="bug", actor=l1, clock=clock, group=l1_group)
    actions.escalate(
        db, ticket=ticket, reason="API returns 500 on export", actor=l1, clock=clock, group=l2_group
    )
    assert (ticket.tier, ticket.group_id, ticket.assignee_id) == (Tier.L2, l2_group.id, None)
    assert events(db, ticket, "escalated") == [
        ("escalated", {"from_tier": "L1", "to_tier": "L2", "reason": "API returns 500 on export",
                       "group_id": l2_group.id, "from_group_id": l1_group.id}),
    ]  # fmt: skip
    assert events(db, ticket, "group_changed")[-1][1] == {"from": l1_group.id, "to": l2_group.id}
    assert events(db, ticket, "assigned")[-1][1]["to_assignee_id"] is None
    with pytest.raises(Conflict):
        actions.escalate(db, ticket=ticket, reason="again", actor=l1, clock=clock)


def test_escalation_without_a_group_keeps_the_group(db: Session, clock: FixedClock) -> None:
    requester, l1, l2 = people(db, clock)
    ticket = new_ticket(db, clock, requester, assignee=l2)
    actions.escalate(db, ticket=ticket, reason="deep dive", actor=l1, clock=clock)
    assert (ticket.tier, ticket.group_id, ticket.assignee_id) == (Tier.L2, None, l2.id)


def test_update_ticket_changes_fields_with_one_event_each(db: Session, clock: FixedClock) -> None:
    requester, l1, l2 = people(db, clock)
    ticket = new_ticket(db, clock, requester, tags=["a", "b"], custom_fields={"plan": "gold", "seats": 5})
    group = core_actions.create_group(db, name="Tier 2", tier=Tier.L2)
    actions.update_ticket(
        db, ticket=ticket, actor=l1, clock=clock, priority=Priority.URGENT, type=TicketType.PROBLEM,
        tags=["b", "C"], custom_fields={"plan": "platinum", "seats": None, "region": "EU"}, group=group,
        assignee=l2, status=Status.PENDING,
    )  # fmt: skip
    assert ticket.priority is Priority.URGENT and ticket.type is TicketType.PROBLEM
    assert ticket.tags == ["b", "c"]
    assert ticket.custom_fields == {"plan": "platinum", "region": "EU"}
    assert (ticket.group_id, ticket.assignee_id, ticket.tier, ticket.status) == (
        group.id,
        l2.id,
        Tier.L2,
        Status.PENDING,
    )
    got = dict(events(db, ticket))
    assert got["priority_changed"] == {"from": "normal", "to": "urgent"}
    assert got["tags_changed"] == {"added": ["c"], "removed": ["a"]}
    assert got["status_changed"] == {"from": "new", "to": "pending"}
    assert got["group_changed"] == {"from": None, "to": group.id}
    fields = [d["changed"] for t, d in events(db, ticket, "fields_changed")]
    assert {"type": [None, "problem"]} in fields
    assert {"plan": ["gold", "platinum"], "seats": [5, None], "region": [None, "EU"]} in fields


def test_update_checks_everything_before_changing_anything(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester)
    reply(db, clock, ticket, l1)
    with pytest.raises(ValidationFailed):
        actions.update_ticket(
            db, ticket=ticket, actor=l1, clock=clock, priority=Priority.HIGH, status=Status.NEW, tags=["ok"]
        )
    with pytest.raises(ValidationFailed):
        actions.update_ticket(
            db, ticket=ticket, actor=l1, clock=clock, priority=Priority.HIGH, tags=["no spaces!"]
        )
    assert ticket.priority is Priority.NORMAL and ticket.tags == []


def test_sensitive_tickets_go_only_to_agents_with_sensitive_access(db: Session, clock: FixedClock) -> None:
    requester, l1, l2 = people(db, clock)
    clinical = core_actions.create_group(db, name="Clinical", tier=Tier.L2, sensitive_access=True)
    core_actions.add_to_group(db, group=clinical, user=l2, clock=clock)
    ticket = new_ticket(db, clock, requester, sensitive=True)
    with pytest.raises(ValidationFailed):
        actions.assign(db, ticket=ticket, assignee=l1, actor=l2, clock=clock)
    actions.assign(db, ticket=ticket, assignee=l2, actor=l2, clock=clock)
    assert ticket.assignee_id == l2.id
    other = new_ticket(db, clock, requester, assignee=l1)
    with pytest.raises(ValidationFailed) as err:
        actions.update_ticket(db, ticket=other, actor=l2, clock=clock, sensitive=True)
    assert err.value.field == "sensitive" and not other.sensitive
    actions.update_ticket(db, ticket=other, actor=l2, clock=clock, sensitive=True, assignee=l2)
    assert other.sensitive and events(db, other, "sensitivity_changed")[-1][1] == {"sensitive": True}
    with pytest.raises(ValidationFailed):
        actions.assign(db, ticket=ticket, assignee=requester, actor=l2, clock=clock)


def test_merge_closes_the_source_with_notes_on_both_and_keeps_its_messages(
    db: Session, clock: FixedClock
) -> None:
    requester, l1, _ = people(db, clock)
    source = new_ticket(db, clock, requester, body_text="first report")
    target = new_ticket(db, clock, requester, body_text="second report")
    reply(db, clock, source, requester)
    actions.merge_tickets(db, source=source, target=target, actor=l1, clock=clock)
    assert source.status is Status.CLOSED and source.merged_into_id == target.id
    assert [m.body_text for m in source.messages][:2] == ["first report", "A reply"]
    assert not source.messages[-1].public and f"#{target.id}" in source.messages[-1].body_text
    assert not target.messages[-1].public and f"#{source.id}" in target.messages[-1].body_text
    assert events(db, source, "merged_into") == [("merged_into", {"target_id": target.id})]
    assert events(db, target, "merged_from") == [("merged_from", {"source_id": source.id})]
    assert events(db, source, "status_changed")[-1][1] == {"from": "new", "to": "closed"}
    with pytest.raises(Conflict):
        actions.merge_tickets(db, source=source, target=target, actor=l1, clock=clock)
    with pytest.raises(ValidationFailed):
        actions.merge_tickets(db, source=target, target=target, actor=l1, clock=clock)


def test_a_sensitive_ticket_merges_only_into_a_sensitive_one(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    secret = new_ticket(db, clock, requester, sensitive=True)
    plain = new_ticket(db, clock, requester)
    with pytest.raises(ValidationFailed):
        actions.merge_tickets(db, source=secret, target=plain, actor=l1, clock=clock)
    actions.merge_tickets(db, source=plain, target=secret, actor=l1, clock=clock)
    assert plain.merged_into_id == secret.id


def test_auto_close_closes_only_tickets_solved_long_enough_ago(db: Session, clock: FixedClock) -> None:
    requester, l1, _ = people(db, clock)
    old, recent, open_ = (new_ticket(db, clock, requester) for _ in range(3))
    actions.change_status(db, ticket=old, to=Status.SOLVED, actor=l1, clock=clock)
    clock.advance(timedelta(days=2))
    actions.change_status(db, ticket=recent, to=Status.SOLVED, actor=l1, clock=clock)
    actions.change_status(db, ticket=open_, to=Status.OPEN, actor=l1, clock=clock)
    clock.advance(timedelta(days=2))
    db.commit()
    assert actions.auto_close_solved(db, clock=clock, days=4) == 1
    assert (old.status, recent.status, open_.status) == (Status.CLOSED, Status.SOLVED, Status.OPEN)
    assert [t for t, _ in events(db, old)][-2:] == ["status_changed", "auto_closed"]
    assert events(db, old, "status_changed")[-1] == ("status_changed", {"from": "solved", "to": "closed"})
    assert actions.auto_close_solved(db, clock=clock, days=4) == 0


def test_attachments_are_stored_by_content_and_over_the_limit_refused(
    db: Session, clock: FixedClock, tmp_path: Path
) -> None:
    requester, _, _ = people(db, clock)
    store = AttachmentStore.from_settings(Settings(data_dir=tmp_path, max_attachment_bytes=100))
    files = [
        NewAttachment("../../etc/passwd", "text/plain", b"hello"),
        NewAttachment("b.txt", "text/plain", b"hello"),
    ]
    ticket = new_ticket(db, clock, requester, store=store, attachments=files)
    rows = ticket.messages[0].attachments
    assert [r.filename for r in rows] == ["passwd", "b.txt"]
    assert rows[0].storage_key == rows[1].storage_key and rows[0].size == 5
    assert store.open(rows[0].storage_key) == b"hello"
    assert (tmp_path / "attachments" / rows[0].storage_key).read_bytes() == b"hello"
    with pytest.raises(TooLarge):
        new_ticket(db, clock, requester, store=store, attachments=[NewAttachment("big.bin", "x", b"x" * 101)])
    with pytest.raises(ValidationFailed):
        new_ticket(db, clock, requester, attachments=files)  # no store


def test_message_html_is_stored_sanitised(db: Session, clock: FixedClock) -> None:
    requester, _, _ = people(db, clock)
    ticket = new_ticket(
        db, clock, requester, body_text=None,
        body_html='<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(2)">link</a></p>',
    )  # fmt: skip
    message = ticket.messages[0]
    assert "<script" not in message.body_html and "onclick" not in message.body_html
    assert "javascript:" not in message.body_html and "alert" not in message.body_html
    assert message.body_text == "Hi link"


def test_public_agent_replies_are_handed_to_delivery(db: Session, clock: FixedClock) -> None:
    """The email channel queues a reply for a requester with an address; notes and requester replies
    are not sent."""
    requester, l1, _ = people(db, clock)
    ticket = new_ticket(db, clock, requester)
    reply(db, clock, ticket, l1, public=False)
    reply(db, clock, ticket, requester)
    reply(db, clock, ticket, l1)
    db.flush()
    queued = db.scalars(select(OutboundEmail)).all()
    assert [q.message_id for q in queued] == [ticket.messages[-1].id]
