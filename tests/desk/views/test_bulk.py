"""Bulk work: 1,000 tickets changed in one request, committed and read back, one event per change;
access holds ticket by ticket (need-to-know, closed tickets, the 1,000 limit)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event, Role, Tier, User
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.bulk import MAX_BULK, Assign, ChangeTags, SetPriority, SetStatus, apply_bulk
from opsdesk.desk.models import Channel, Priority, Status, Ticket
from tests.factories import make_user


def _tickets(db: Session, clock: FixedClock, requester: User, n: int, **extra: object) -> list[int]:
    ids = []
    for i in range(n):
        ticket = desk_actions.create_ticket(
            db,
            requester=requester,
            subject=f"Ticket {i}",
            body_text="Hello",
            channel=Channel.EMAIL,
            clock=clock,
            **extra,  # type: ignore[arg-type]
        )
        ids.append(ticket.id)
    db.commit()
    return ids


def test_a_thousand_tickets_change_in_one_bulk_action_with_one_event_per_change(
    db: Session, clock: FixedClock
) -> None:
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    requester = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    ids = _tickets(db, clock, requester, MAX_BULK)
    before = db.scalar(select(func.count()).select_from(Event))

    result = apply_bulk(
        db,
        actor=lead,
        ticket_ids=ids,
        clock=clock,
        bulk_actions=[
            Assign(ana),
            SetStatus(Status.OPEN),
            ChangeTags(add=("Billing",)),
            SetPriority(Priority.HIGH),
        ],
    )
    db.commit()
    assert result.applied == ids and result.skipped == {}

    db.expire_all()
    stored = db.scalars(select(Ticket).where(Ticket.id.in_(ids))).all()
    assert len(stored) == MAX_BULK
    assert {(t.assignee_id, t.status, t.priority, tuple(t.tags)) for t in stored} == {
        (ana.id, Status.OPEN, Priority.HIGH, ("billing",))
    }
    new_events = db.execute(
        select(Event.type, Event.subject_id, Event.actor_id).where(Event.id > before)
    ).all()
    by_type = Counter(e.type for e in new_events)
    for kind in ("assigned", "status_changed", "tags_changed", "priority_changed"):
        assert by_type[kind] == MAX_BULK
        assert {e.subject_id for e in new_events if e.type == kind} == set(ids)
    assert {e.actor_id for e in new_events} == {lead.id}

    # Applying the same again changes nothing, so it records nothing.
    again = db.scalar(select(func.count()).select_from(Event))
    apply_bulk(db, actor=lead, ticket_ids=ids[:10], clock=clock, bulk_actions=[SetStatus(Status.OPEN)])
    db.commit()
    assert db.scalar(select(func.count()).select_from(Event)) == again


def test_bulk_keeps_need_to_know_and_skips_what_cannot_change(db: Session, clock: FixedClock) -> None:
    clinical = core_actions.create_group(db, name="Clinical", sensitive_access=True)
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    nurse = make_user(db, clock, Role.AGENT, email="nia@desk.test", tier=Tier.L1)
    core_actions.add_to_group(db, group=clinical, user=nurse, clock=clock)
    requester = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    plain = _tickets(db, clock, requester, 2)
    sensitive = _tickets(db, clock, requester, 1, sensitive=True)
    closed = plain[1]
    ticket = db.get_one(Ticket, closed)
    desk_actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=None, clock=clock)
    desk_actions.change_status(db, ticket=ticket, to=Status.CLOSED, actor=None, clock=clock)
    db.commit()

    result = apply_bulk(
        db,
        actor=ana,
        ticket_ids=[*plain, *sensitive, 2_000_000],
        clock=clock,
        bulk_actions=[ChangeTags(add=("vip",))],
    )
    db.commit()
    assert result.applied == [plain[0]]
    assert result.skipped[sensitive[0]] == f"no ticket #{sensitive[0]}"  # not "forbidden": it is not there
    assert result.skipped[2_000_000] == "no ticket #2000000"
    assert "closed" in result.skipped[closed]
    db.expire_all()
    assert db.get_one(Ticket, sensitive[0]).tags == [] and db.get_one(Ticket, closed).tags == []

    # A sensitive ticket cannot go to an agent without sensitive access, even from one who has it.
    result = apply_bulk(
        db, actor=nurse, ticket_ids=[*sensitive, plain[0]], clock=clock, bulk_actions=[Assign(ana)]
    )
    db.commit()
    assert result.applied == [plain[0]] and "sensitive" in result.skipped[sensitive[0]]
    db.expire_all()
    assert db.get_one(Ticket, sensitive[0]).assignee_id is None

    with pytest.raises(ValidationFailed, match="at most 1000"):
        apply_bulk(db, actor=ana, ticket_ids=range(1, MAX_BULK + 2), clock=clock, bulk_actions=[Assign(ana)])
    with pytest.raises(ValidationFailed):
        apply_bulk(db, actor=ana, ticket_ids=plain, clock=clock, bulk_actions=[])
