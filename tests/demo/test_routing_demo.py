"""The demo desk routes: groups, skills, languages, capacities and site shifts are configured and in use,
agents on shift are online, and the latest arrivals were assigned by the router, each assignment with
the routing event that says why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier, User
from opsdesk.demo.loader import load_demo
from opsdesk.desk.models import Ticket
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, RoutingGroup, SiteShift, Skill
from opsdesk.desk.routing.router import capacity_kind
from opsdesk.desk.routing.state import agent_loads, capacity_of, current_settings


def test_the_demo_desk_is_routed(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory,
        clock=clock,
        organisations=100,
        tickets_per_day=200,
        history_days=3,
        success_accounts=20,
    )
    assert counts["agents online"] > 0 and counts["tickets routed"] > 0
    settings = current_settings(db)
    assert settings is not None and settings.enabled and settings.skill_timeout_seconds == 900
    assert db.scalar(select(func.count()).select_from(Skill)) >= 5
    assert db.scalar(select(func.count()).select_from(SiteShift)) == 5
    assert db.scalar(select(func.count()).where(RoutingGroup.choice.is_not(None))) >= 1
    assert db.scalar(select(func.count()).where(AgentPresence.capacity != {})) > 0  # L2's own capacities

    routed = db.scalars(
        select(Event).where(
            Event.type == "assigned", Event.data["via"].as_string() == "routing", Event.at == clock.now()
        )
    )  # what the live router assigned at load time (the history's routing: the test below)
    routed = [e for e in routed if e.data["to_assignee_id"] is not None]
    assert len(routed) == counts["tickets routed"]
    for event in routed:
        ticket = db.get_one(Ticket, event.subject_id)
        assert ticket.assignee_id == event.data["to_assignee_id"]
        assert event.data["routing"]["rules"] and event.data["routing"]["considered"] >= 1
        presence = db.get_one(AgentPresence, ticket.assignee_id)
        assert presence.status is PresenceStatus.ONLINE
    loads = agent_loads(db)
    for event in routed:
        ticket = db.get_one(Ticket, event.subject_id)
        assert ticket.assignee_id is not None
        kind = capacity_kind(ticket.channel.value)
        capacity = capacity_of(db.get_one(AgentPresence, ticket.assignee_id), settings.default_capacity)
        assert loads[ticket.assignee_id][kind] <= capacity[kind]  # routing never filled anyone past it


def test_the_history_was_assigned_by_the_router_too(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    """Every assignment in the demo, old or new, came from the router (with its reasons), from an agent
    answering a call, from an automation rule or macro that names itself, or from an agent taking the
    ticket themselves; none is a bare `assigned` event."""
    load_demo(session_factory, clock=clock, organisations=100, tickets_per_day=150, history_days=4,
              success_accounts=20)  # fmt: skip
    assigned = db.scalars(select(Event).where(Event.type == "assigned")).all()
    routed = [e for e in assigned if e.data.get("via") == "routing" and e.data["to_assignee_id"]]
    # Or from an automation rule or macro, which the event names, or an agent taking a ticket themselves.
    by_hand = [
        e
        for e in assigned
        if "rule_id" not in e.data and "macro_id" not in e.data and e.actor_id != e.data.get("to_assignee_id")
    ]
    assert {e.data.get("via") for e in by_hand} <= {"routing", "call answered"}
    # Most of them older than the last 90 minutes the live router handled at load time.
    old = [e for e in routed if clock.now() - e.at > timedelta(hours=2)]
    assert len(old) > 100
    for event in old:
        reasons = event.data["routing"]
        assert "online" in reasons["rules"] and reasons["considered"] >= 1 and reasons["chosen_by"]
    agents = {u.id: u for u in db.scalars(select(User).where(User.role == Role.AGENT))}
    escalations = {e.subject_id for e in db.scalars(select(Event).where(Event.type == "escalated"))}
    assert escalations
    for event in old:
        agent = agents[event.data["to_assignee_id"]]
        # Tier holds: work routed after its escalation went to an engineer, the first assignment of
        # non-sensitive work to an advocate.
        if f"tier {Tier.L2.value}" in event.data["routing"]["rules"]:
            assert agent.tier is Tier.L2
        else:
            assert agent.tier is Tier.L1
