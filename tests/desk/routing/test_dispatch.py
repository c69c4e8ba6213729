"""Routing against the database: assignments with their reasons, presence changes and what they do to
work, reopened tickets, and the drain woken by freed capacity."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs.models import JobRow
from opsdesk.core.models import Event, Tier
from opsdesk.desk import actions
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from opsdesk.desk.routing.dispatch import drain, route_waiting
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, QueueEntry, Skill
from opsdesk.desk.routing.presence import auto_away, set_presence
from opsdesk.desk.routing.triggers import DRAIN_JOB
from tests.desk.routing.helpers import agent, assignment_events, requester, switch_on, ticket


def test_waiting_tickets_are_assigned_with_the_reasons(db: Session, clock: FixedClock) -> None:
    switch_on(db, clock)
    support = core_actions.create_group(db, name="Support", tier=Tier.L1)
    db.add(Skill(name="billing", match_tags=["invoice"], description=""))
    plain = agent(db, clock, groups=(support,))
    billing = agent(db, clock, groups=(support,), skills=("billing",))
    agent(db, clock, groups=(support,), online=False, skills=("billing",))
    who = requester(db, clock)
    t1 = ticket(db, clock, who, group=support, tags=("invoice",))
    t2 = ticket(db, clock, who, group=support)
    db.commit()

    result = route_waiting(db, clock=clock)
    db.commit()

    assert {d.ticket_id: d.agent_id for d in result.assigned} == {t1.id: billing.id, t2.id: plain.id}
    db.expire_all()
    assert db.get_one(Ticket, t1.id).assignee_id == billing.id
    [event] = assignment_events(db, t1.id)
    assert event.data["to_assignee_id"] == billing.id and event.data["via"] == "routing"
    assert "skills billing" in event.data["routing"]["rules"]
    assert event.data["routing"]["considered"] == 1  # the offline billing agent is not a candidate
    assert db.get_one(AgentPresence, billing.id).last_assigned_at == clock.now()


def test_capacity_limits_and_freed_capacity_wakes_the_drain(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    switch_on(db, clock)
    only = agent(db, clock, capacity={"ticket": 2})
    who = requester(db, clock)
    tickets = [ticket(db, clock, who) for _ in range(3)]
    db.commit()
    assert drain(session_factory, clock=clock) == 2
    db.expire_all()
    waiting = [t for t in tickets if db.get_one(Ticket, t.id).assignee_id is None]
    assert len(waiting) == 1

    first = db.get_one(Ticket, tickets[0].id)
    actions.change_status(db, ticket=first, to=Status.PENDING, actor=only, clock=clock)
    db.commit()
    # The status change asked for a routing pass at once, not at the next tick.
    assert db.scalar(select(JobRow).where(JobRow.name == DRAIN_JOB)) is not None
    assert drain(session_factory, clock=clock) == 1
    db.expire_all()
    assert db.get_one(Ticket, waiting[0].id).assignee_id == only.id


def test_going_away_returns_unstarted_work_and_logs_the_change(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    switch_on(db, clock)
    leaving = agent(db, clock)
    who = requester(db, clock)
    untouched, answered = ticket(db, clock, who), ticket(db, clock, who)
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    answered = db.get_one(Ticket, answered.id)
    actions.add_message(
        db,
        ticket=answered,
        author=leaving,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="On it.",
    )
    db.commit()

    clock.advance(timedelta(minutes=5))
    set_presence(db, agent=leaving, status=PresenceStatus.AWAY, clock=clock, actor=leaving)
    db.commit()
    db.expire_all()
    assert db.get_one(Ticket, untouched.id).assignee_id is None
    assert db.get_one(QueueEntry, untouched.id).previous_assignee_id == leaving.id
    assert db.get_one(Ticket, answered.id).assignee_id == leaving.id  # started work stays
    change = db.scalars(
        select(Event).where(Event.type == "presence_changed").order_by(Event.id.desc())
    ).first()
    assert change is not None and change.data["from"] == "online" and change.data["to"] == "away"

    helper = agent(db, clock)
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    assert db.get_one(Ticket, untouched.id).assignee_id == helper.id


def test_reopened_ticket_goes_back_only_to_an_online_agent(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    switch_on(db, clock)
    first = agent(db, clock)
    who = requester(db, clock)
    t = ticket(db, clock, who)
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    t = db.get_one(Ticket, t.id)
    actions.change_status(db, ticket=t, to=Status.SOLVED, actor=first, clock=clock)
    set_presence(db, agent=first, status=PresenceStatus.OFFLINE, clock=clock, actor=first)
    other = agent(db, clock)
    db.commit()

    actions.add_message(
        db,
        ticket=t,
        author=who,
        author_kind=AuthorKind.REQUESTER,
        public=True,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="Still broken.",
    )
    db.commit()
    db.expire_all()
    assert db.get_one(Ticket, t.id).assignee_id is None  # not left with an offline agent
    set_presence(db, agent=first, status=PresenceStatus.ONLINE, clock=clock, actor=first)
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    assert db.get_one(Ticket, t.id).assignee_id == first.id  # back online: the previous assignee
    assert assignment_events(db, t.id)[-1].data["routing"]["chosen_by"] == "previous_assignee"
    assert other.id != first.id


def test_idle_agents_are_turned_away(db: Session, clock: FixedClock) -> None:
    switch_on(db, clock, auto_away_seconds=300)
    idle, busy = agent(db, clock), agent(db, clock)
    db.commit()
    clock.advance(timedelta(minutes=4))
    from opsdesk.desk.routing.presence import heartbeat

    heartbeat(db, agent=busy, clock=clock)
    clock.advance(timedelta(minutes=2))
    assert auto_away(db, clock=clock, idle=timedelta(seconds=300)) == [idle.id]
    db.commit()
    assert db.get_one(AgentPresence, idle.id).status is PresenceStatus.AWAY
    assert db.get_one(AgentPresence, busy.id).status is PresenceStatus.ONLINE


def test_a_published_schedule_decides_who_is_on_shift(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    from opsdesk.desk.routing.admin import publish_shifts
    from opsdesk.desk.routing.schemas import ShiftsIn

    switch_on(db, clock)
    scheduled_later = agent(db, clock)
    unscheduled = agent(db, clock)
    now = clock.now()
    body = ShiftsIn.model_validate(
        {
            "from": now - timedelta(days=1),
            "to": now + timedelta(days=1),
            "shifts": [{"starts_at": now + timedelta(hours=2), "ends_at": now + timedelta(hours=10)}],
        }
    )
    publish_shifts(db, agent=scheduled_later, body=body, clock=clock, actor=None)
    who = requester(db, clock)
    first = ticket(db, clock, who)
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    assert db.get_one(Ticket, first.id).assignee_id == unscheduled.id  # the other is scheduled, not yet on
    set_presence(db, agent=unscheduled, status=PresenceStatus.OFFLINE, clock=clock, actor=None)
    clock.advance(timedelta(hours=3))
    second = ticket(db, clock, who)
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    assert db.get_one(Ticket, second.id).assignee_id == scheduled_later.id


def test_unassignable_work_at_the_head_does_not_hide_the_rest(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    from opsdesk.desk.models import Priority

    switch_on(db, clock)
    l1 = agent(db, clock)
    engineers = core_actions.create_group(db, name="Engineers", tier=Tier.L2)
    who = requester(db, clock)
    for _ in range(5):  # urgent L2 work nobody online can take, ahead of everything
        ticket(db, clock, who, group=engineers, priority=Priority.URGENT)
    last = ticket(db, clock, who)
    db.commit()
    assert drain(session_factory, clock=clock, limit=2) == 1
    db.expire_all()
    assert db.get_one(Ticket, last.id).assignee_id == l1.id


def test_an_agent_on_a_call_or_not_taking_chats_gets_none(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    switch_on(db, clock)
    busy = agent(db, clock)
    set_presence(
        db, agent=busy, status=PresenceStatus.ONLINE, on_call=True, in_chats=False, clock=clock, actor=busy
    )
    who = requester(db, clock)
    call, chat, mail = (
        ticket(db, clock, who, channel=c) for c in (Channel.PHONE, Channel.CHAT, Channel.EMAIL)
    )
    db.commit()
    drain(session_factory, clock=clock)
    db.expire_all()
    assert [db.get_one(Ticket, t.id).assignee_id for t in (call, chat, mail)] == [None, None, busy.id]
    flags = db.scalars(
        select(Event).where(Event.type == "presence_changed").order_by(Event.id.desc())
    ).first()
    assert flags is not None and flags.data["on_call"] is True and flags.data["in_chats"] is False
