"""A simulated 24 hours of a follow-the-sun desk: five sites in their own time zones, agents coming online
and going offline with their site's shift, tickets arriving on every channel, work being answered,
solved and left pending, the hand-over job and the router running every ten minutes on an injected
clock. After every step: nobody offline or off shift got work, no capacity is exceeded, L2 work went only
to L2, every ticket waiting on the team at a site's shift end was handed over with a note, and the
backlog is drained as far as capacity allows (one more pass would assign nothing)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Site, Tier, User
from opsdesk.desk import actions
from opsdesk.desk.models import AuthorKind, Channel, Priority, Status, Ticket
from opsdesk.desk.routing.dispatch import drain, route_waiting
from opsdesk.desk.routing.handover import check_shifts
from opsdesk.desk.routing.models import AgentPresence, Handover, PresenceStatus, QueueEntry, SiteShift, Skill
from opsdesk.desk.routing.presence import set_presence
from opsdesk.desk.routing.router import CapacityKind, capacity_kind
from opsdesk.desk.routing.shifts import on_shift
from opsdesk.desk.routing.state import site_hours
from opsdesk.desk.sla.actions import create_business_schedule
from tests.desk.routing.helpers import agent, requester, switch_on

# Local opening hours; together they cover all 24 hours of UTC (in March, before daylight saving).
SITES = {
    "Manila": ("Asia/Manila", "08:00", "17:00"),  # 00-09 UTC
    "Dublin": ("Europe/Dublin", "08:00", "17:00"),  # 08-17 UTC
    "Chicago": ("America/Chicago", "08:00", "17:00"),  # 14-23 UTC
    "Seattle": ("America/Los_Angeles", "10:00", "19:00"),  # 18-03 UTC
    "San Francisco": ("America/Los_Angeles", "12:00", "21:00"),  # 20-05 UTC
}
CAPACITY = {"chat": 2, "call": 1, "ticket": 3}
STEP = timedelta(minutes=10)
CHANNELS = (Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.SOCIAL, Channel.WEB)


def _build_desk(db: Session, clock: FixedClock) -> tuple[list[User], list[User], dict[int, Site]]:
    switch_on(db, clock, default_capacity=CAPACITY)
    db.add(Skill(name="billing", match_tags=["billing"], description="invoices and payments"))
    l1 = core_actions.create_group(db, name="Advocates", tier=Tier.L1)
    l2 = core_actions.create_group(db, name="Engineers", tier=Tier.L2)
    agents: list[User] = []
    sites: dict[int, Site] = {}
    for name, (zone, start, end) in SITES.items():
        site = core_actions.create_site(db, name=name, timezone=zone)
        sites[site.id] = site
        hours = create_business_schedule(
            db,
            name=f"{name} shift",
            timezone=zone,
            intervals=[{"weekday": d, "start": start, "end": end} for d in range(7)],
            actor=None,
            clock=clock,
        )
        db.add(SiteShift(site_id=site.id, schedule_id=hours.id, on_shift=False, checked_at=None))
        for n in range(4):
            skills = ("billing",) if n % 2 else ()
            agents.append(agent(db, clock, site=site, groups=(l1,), skills=skills, online=False))
        for _ in range(2):
            agents.append(agent(db, clock, tier=Tier.L2, site=site, groups=(l2,), online=False))
    customers = [requester(db, clock) for _ in range(30)]
    db.commit()
    return agents, customers, sites


def _sync_presence(db: Session, clock: FixedClock, agents: list[User]) -> None:
    """Agents log in when their site's shift starts and off when it ends."""
    hours = site_hours(db, clock.now())
    for user in agents:
        want = (
            PresenceStatus.ONLINE
            if on_shift(clock.now(), site_hours=hours[user.site_id or 0])
            else (PresenceStatus.OFFLINE)
        )
        if db.get_one(AgentPresence, user.id).status is not want:
            set_presence(db, agent=user, status=want, clock=clock, actor=user)


def _arrivals(db: Session, clock: FixedClock, rng: random.Random, customers: list[User]) -> None:
    from opsdesk.core.models import Group

    groups = {g.tier: g for g in db.scalars(select(Group))}
    for _ in range(rng.randint(1, 4)):
        tier = Tier.L2 if rng.random() < 0.25 else Tier.L1
        actions.create_ticket(
            db,
            requester=rng.choice(customers),
            subject="Help with my account",
            body_text=f"Message at {clock.now():%H:%M}",
            channel=rng.choice(CHANNELS),
            clock=clock,
            group=groups[tier],
            tags=("billing",) if rng.random() < 0.3 else (),
            priority=rng.choice(list(Priority)),
        )


def _work(db: Session, clock: FixedClock, rng: random.Random) -> None:
    """Agents answer, solve, or wait on the customer; customers reply to pending tickets."""
    for ticket in db.scalars(
        select(Ticket)
        .where(Ticket.assignee_id.is_not(None), Ticket.status.in_((Status.NEW, Status.OPEN, Status.PENDING)))
        .order_by(Ticket.id)
    ).all():
        roll = rng.random()
        if ticket.status is Status.PENDING:
            if roll < 0.1:
                actions.add_message(
                    db,
                    ticket=ticket,
                    author=ticket.requester,
                    author_kind=AuthorKind.REQUESTER,
                    public=True,
                    channel=ticket.channel,
                    clock=clock,
                    body_text="Any news?",
                )
            continue
        assert ticket.assignee is not None
        if roll < 0.3:
            actions.add_message(
                db,
                ticket=ticket,
                author=ticket.assignee,
                author_kind=AuthorKind.AGENT,
                public=True,
                channel=ticket.channel,
                clock=clock,
                body_text="Looking into it.",
                deliver=False,
            )
        elif roll < 0.45:
            actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=ticket.assignee, clock=clock)
        elif roll < 0.5:
            actions.change_status(db, ticket=ticket, to=Status.PENDING, actor=ticket.assignee, clock=clock)


def _waiting_on_team_at(db: Session, site_id: int) -> set[int]:
    site_agents = select(User.id).where(User.site_id == site_id)
    queued = select(QueueEntry.ticket_id).where(QueueEntry.site_id == site_id)
    return set(
        db.scalars(
            select(Ticket.id).where(
                Ticket.status.in_((Status.NEW, Status.OPEN)),
                (Ticket.assignee_id.in_(site_agents)) | (Ticket.id.in_(queued)),
            )
        )
    )


def _check_assignments(db: Session, now: datetime, agents: dict[int, User]) -> int:
    hours = site_hours(db, now)
    routed = db.scalars(
        select(Event).where(
            Event.type == "assigned", Event.at == now, Event.data["via"].as_string() == "routing"
        )
    ).all()
    count = 0
    for event in routed:
        to = event.data["to_assignee_id"]
        if to is None:
            continue
        count += 1
        who = agents[to]
        assert db.get_one(AgentPresence, to).status is PresenceStatus.ONLINE, (
            "assigned to an agent not online"
        )
        assert on_shift(now, site_hours=hours[who.site_id or 0]), "assigned to an agent off shift"
        ticket = db.get_one(Ticket, event.subject_id)
        if ticket.tier is Tier.L2:
            assert who.tier is Tier.L2, "L2 work assigned to L1"
        assert event.data["routing"]["rules"], "a decision without its reasons"
    loads: Counter[tuple[int, CapacityKind]] = Counter()
    for assignee, channel in db.execute(
        select(Ticket.assignee_id, Ticket.channel).where(
            Ticket.assignee_id.is_not(None), Ticket.status.in_((Status.NEW, Status.OPEN))
        )
    ).all():
        loads[(assignee, capacity_kind(channel.value))] += 1
    for (assignee, kind), load in loads.items():
        assert load <= CAPACITY[kind.value], f"agent {assignee} has {load} {kind.value} items"
    return count


def test_a_follow_the_sun_day(db: Session, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    rng = random.Random(11)
    clock.set(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    agents, customers, sites = _build_desk(db, clock)
    by_id = {a.id: a for a in agents}
    check_shifts(db, clock=clock)  # remember who is on shift at the start
    db.commit()
    assigned = handed = 0
    ended: dict[str, int] = defaultdict(int)
    end = clock.now() + timedelta(hours=24)
    while clock.now() < end:
        now = clock.now()
        hours = site_hours(db, now)
        ending = [
            row.site_id
            for row in db.scalars(select(SiteShift))
            if row.on_shift and not on_shift(now, site_hours=hours[row.site_id])
        ]
        expected = {site_id: _waiting_on_team_at(db, site_id) for site_id in ending}
        pending_before = {
            site_id: dict(
                db.execute(
                    select(Ticket.id, Ticket.assignee_id)
                    .join(User, User.id == Ticket.assignee_id)
                    .where(User.site_id == site_id, Ticket.status == Status.PENDING)
                ).all()
            )
            for site_id in ending
        }
        check_shifts(db, clock=clock)
        db.commit()
        for site_id, tickets in expected.items():
            ended[sites[site_id].name] += 1
            notes = {
                h.ticket_id: h
                for h in db.scalars(
                    select(Handover).where(Handover.from_site_id == site_id, Handover.at == now)
                )
            }
            assert set(notes) == tickets, "a ticket waiting on the team was not handed over"
            for handover in notes.values():
                assert handover.to_site_id is not None and handover.to_site_id != site_id
                assert {"last_customer_message", "pending", "sla_due_at"} <= set(handover.note)
                assert handover.note["pending"]
            handed += len(notes)
            for ticket_id, assignee in pending_before[site_id].items():
                assert db.get_one(Ticket, ticket_id).assignee_id == assignee, "waiting on customer moved"
        _sync_presence(db, clock, agents)
        _arrivals(db, clock, rng, customers)
        _work(db, clock, rng)
        db.commit()
        drain(session_factory, clock=clock)
        db.expire_all()
        assigned += _check_assignments(db, now, by_id)
        # Drained: one more pass finds nothing it can assign.
        assert not route_waiting(db, clock=clock).assigned
        db.rollback()
        clock.advance(STEP)

    assert set(ended) == set(SITES), "every site's shift ended once in the day"
    assert assigned > 200 and handed > 0
    # Every hand-over left its note in the ticket's own history too.
    assert db.scalar(select(Event.id).where(Event.type == "handed_over")) is not None
