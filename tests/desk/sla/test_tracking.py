"""The SLA tracker on real tickets built by the ticket-core actions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Event, Role, User
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk
from opsdesk.desk.models import AuthorKind, Channel, Priority, Status, Ticket
from opsdesk.desk.sla import actions, queries, tracking
from opsdesk.desk.sla.metrics import MetricStatus
from opsdesk.desk.sla.models import SlaPolicy
from tests.factories import make_user

# The clock fixture starts on Monday 2 March 2026 at 09:00 UTC.
MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=UTC)
TARGETS = {
    "normal": {"first_reply": 60, "next_reply": 120, "resolution": 480},
    "urgent": {"first_reply": 15, "resolution": 120},
}


def default_policy(db: Session, clock: FixedClock, **options: object) -> SlaPolicy:
    return actions.create_sla_policy(db, name="Default", targets=TARGETS, actor=None, clock=clock, **options)  # type: ignore[arg-type]


def new_ticket(db: Session, clock: FixedClock, requester: User, **options: object) -> Ticket:
    return desk.create_ticket(
        db,
        requester=requester,
        subject="Cannot sign in",
        body_text="It says my password expired.",
        channel=options.pop("channel", Channel.EMAIL),  # type: ignore[arg-type]
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


def reply(
    db: Session, clock: FixedClock, ticket: Ticket, author: User, kind: AuthorKind, public: bool = True
) -> None:
    desk.add_message(
        db,
        ticket=ticket,
        author=author,
        author_kind=kind,
        public=public,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="...",
    )


def breaches(db: Session, ticket: Ticket) -> list[dict]:
    rows = db.scalars(
        select(Event).where(Event.subject_id == ticket.id, Event.type == "sla_breached").order_by(Event.id)
    )
    return [row.data for row in rows]


def test_no_policy_means_no_due_time(db: Session, clock: FixedClock) -> None:
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    ticket = new_ticket(db, clock, requester)
    db.commit()
    assert ticket.sla_next_due_at is None
    state = queries.sla_state(db, ticket=ticket, clock=clock)
    assert (state.policy_name, state.metrics, state.calendar) == (None, [], "24x7")


def test_due_time_follows_the_conversation(db: Session, clock: FixedClock) -> None:
    default_policy(db, clock)
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    ticket = new_ticket(db, clock, requester)
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(hours=1)  # first reply, 60 min

    clock.advance(timedelta(minutes=30))
    reply(db, clock, ticket, agent, AuthorKind.AGENT, public=False)  # a note does not answer
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(hours=1)
    reply(db, clock, ticket, agent, AuthorKind.AGENT)
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(hours=8)  # only resolution is left

    clock.advance(timedelta(minutes=30))  # 10:00
    reply(db, clock, ticket, requester, AuthorKind.REQUESTER)
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(hours=3)  # next reply, 120 min from 10:00

    desk.change_status(db, ticket=ticket, to=Status.PENDING, actor=agent, clock=clock)
    assert ticket.sla_next_due_at is None  # every clock paused
    db.commit()

    state = queries.sla_state(db, ticket=ticket, clock=clock, settings=Settings(breaching_soon_minutes=60))
    assert state.policy_name == "Default"
    assert [(m.metric, m.status) for m in state.metrics] == [
        ("first_reply", MetricStatus.ACHIEVED),
        ("next_reply", MetricStatus.PAUSED),
        ("resolution", MetricStatus.PAUSED),
    ]
    resolution = state.metrics[2]
    assert (resolution.elapsed_minutes, resolution.remaining_minutes, resolution.target_minutes) == (
        60,
        420,
        480,
    )


def test_a_breach_is_recorded_once_across_restarts(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    policy = default_policy(db, clock)
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    late = new_ticket(db, clock, requester)
    calm = new_ticket(db, clock, requester, priority=Priority.NORMAL)
    reply(db, clock, calm, agent, AuthorKind.AGENT)
    db.commit()

    clock.advance(timedelta(minutes=61))  # 10:01, the first reply of `late` was due at 10:00
    assert tracking.check_breaches(db, clock=clock) == 1
    db.commit()
    assert breaches(db, late) == [
        {
            "metric": "first_reply",
            "due_at": "2026-03-02T10:00:00+00:00",
            "policy_id": policy.id,
            "started_at": "2026-03-02T09:00:00+00:00",
        }
    ]
    assert breaches(db, calm) == []
    # The overdue reply keeps leading the ticket's due time (overdue views sort by it), but the periodic
    # check next looks at the ticket when its resolution falls due.
    assert late.sla_next_due_at == MONDAY_9 + timedelta(hours=1)
    assert db.get_one(Ticket, late.id, populate_existing=True).sla_check_at == MONDAY_9 + timedelta(hours=8)

    # A new process (fresh session) checking again, and a later change to the ticket, add nothing.
    clock.advance(timedelta(minutes=5))
    with session_factory() as other:
        assert tracking.check_breaches(other, clock=clock) == 0
        again = other.get_one(Ticket, late.id)
        reply(other, clock, again, other.get_one(User, agent.id), AuthorKind.AGENT)
        other.commit()
    db.expire_all()
    assert len(breaches(db, late)) == 1


def test_check_breaches_skips_tickets_not_yet_due(db: Session, clock: FixedClock) -> None:
    default_policy(db, clock)
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    ticket = new_ticket(db, clock, requester, priority=Priority.URGENT)
    db.commit()
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(minutes=15)
    clock.advance(timedelta(minutes=14))
    assert tracking.check_breaches(db, clock=clock) == 0
    clock.advance(timedelta(hours=2))  # 11:14: first reply (09:15) and resolution (11:00) both breached
    assert tracking.check_breaches(db, clock=clock) == 2
    assert {b["metric"] for b in breaches(db, ticket)} == {"first_reply", "resolution"}
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(minutes=15)  # overdue since 09:15
    assert db.get_one(Ticket, ticket.id, populate_existing=True).sla_check_at is None  # nothing left to check
    assert tracking.check_breaches(db, clock=clock) == 0
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    reply(db, clock, ticket, agent, AuthorKind.AGENT)
    assert ticket.sla_next_due_at == MONDAY_9 + timedelta(hours=2)  # the resolution is still owed
    desk.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
    assert ticket.sla_next_due_at is None


def test_reopen_resumes_resolution_and_closed_ends_it(db: Session, clock: FixedClock) -> None:
    default_policy(db, clock)
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    ticket = new_ticket(db, clock, requester)
    clock.advance(timedelta(hours=2))
    reply(db, clock, ticket, agent, AuthorKind.AGENT)
    desk.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)  # 2 h of 8 used
    assert ticket.sla_next_due_at is None
    clock.advance(timedelta(days=1))
    reply(db, clock, ticket, requester, AuthorKind.REQUESTER)  # reopens: next reply + resolution resume
    assert ticket.status is Status.OPEN
    assert ticket.sla_next_due_at == clock.now() + timedelta(hours=2)  # next reply, 120 min
    reply(db, clock, ticket, agent, AuthorKind.AGENT)
    assert ticket.sla_next_due_at == clock.now() + timedelta(hours=6)  # resolution: 6 of 8 h left
    desk.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
    desk.change_status(db, ticket=ticket, to=Status.CLOSED, actor=agent, clock=clock)
    assert ticket.sla_next_due_at is None
    db.commit()
    state = queries.sla_state(db, ticket=ticket, clock=clock)
    assert [(m.metric, m.status) for m in state.metrics] == [
        ("first_reply", MetricStatus.BREACHED),
        ("next_reply", MetricStatus.ACHIEVED),
        ("resolution", MetricStatus.ACHIEVED),
    ]
    # The late first reply was recorded as a breach by the reply itself, no periodic check needed.
    assert [b["metric"] for b in breaches(db, ticket)] == ["first_reply"]


def test_business_hours_policy_for_tagged_customers(db: Session, clock: FixedClock) -> None:
    # VIP customers (organisation tag) get a Chicago business-hours policy, placed before the 24x7 default.
    chicago = actions.create_business_schedule(
        db,
        name="Chicago office",
        timezone="America/Chicago",
        intervals=[{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
        holidays=["2026-03-09"],
        actor=None,
        clock=clock,
    )
    default_policy(db, clock)
    actions.create_sla_policy(
        db,
        name="VIP",
        position=0,
        customer_tags=["VIP"],
        targets={"normal": {"first_reply": 120}},
        schedule=chicago,
        actor=None,
        clock=clock,
    )
    vip_org = core_actions.create_organisation(db, name="Acme Health", clock=clock, tags=["vip"])
    vip = make_user(db, clock, Role.REQUESTER, email="vip@acme.example", organisation=vip_org)
    other = make_user(db, clock, Role.REQUESTER, email="other@example.com")
    # Friday 6 March 16:00 CST (22:00 UTC). One business hour is left on Friday; Monday 9 March is a
    # holiday; the second hour runs Tuesday 08:00-09:00 CDT (after the 8 March spring-forward) -> due
    # Tuesday 10 March 09:00 CDT = 14:00 UTC.
    clock.set(datetime(2026, 3, 6, 22, tzinfo=UTC))
    vip_ticket = new_ticket(db, clock, vip)
    plain_ticket = new_ticket(db, clock, other)
    tagged_ticket = new_ticket(db, clock, other, tags=["vip"])
    db.commit()
    assert vip_ticket.sla_next_due_at == datetime(2026, 3, 10, 14, tzinfo=UTC)
    assert tagged_ticket.sla_next_due_at == datetime(2026, 3, 10, 14, tzinfo=UTC)
    assert plain_ticket.sla_next_due_at == datetime(2026, 3, 6, 23, tzinfo=UTC)  # 24x7, 60 min

    clock.set(datetime(2026, 3, 9, 18, tzinfo=UTC))  # the holiday, mid-day
    state = queries.sla_state(
        db, ticket=vip_ticket, clock=clock, settings=Settings(breaching_soon_minutes=30)
    )
    assert (state.policy_name, state.calendar) == ("VIP", "Chicago office")
    (first,) = state.metrics
    assert (first.status, first.elapsed_minutes, first.remaining_minutes) == (MetricStatus.ACTIVE, 60, 60)
    # Calendar time while running: Friday 22:00 UTC -> Monday 18:00 UTC = 68 h.
    assert first.calendar_elapsed_minutes == 68 * 60


def test_a_breach_recorded_elsewhere_is_recognised(db: Session, clock: FixedClock) -> None:
    # The demo loader and imports write breach events themselves; the tracker must treat them as its own,
    # whatever the spelling of the instant.
    policy = default_policy(db, clock)
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    ticket = new_ticket(db, clock, requester, priority=Priority.URGENT)
    data = {"metric": "first_reply", "due_at": "2026-03-02T09:15:00Z", "policy_id": policy.id}
    append_event(
        db,
        subject_type="ticket",
        subject_id=ticket.id,
        type="sla_breached",
        at=MONDAY_9 + timedelta(minutes=15),
        data=data | {"started_at": "2026-03-02T09:00:00Z"},
    )
    db.commit()
    clock.advance(timedelta(minutes=20))
    assert tracking.check_breaches(db, clock=clock) == 0
    assert len(breaches(db, ticket)) == 1
