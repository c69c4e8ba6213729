"""The demo desk routes: groups, skills, languages, capacities and site shifts are configured and in use,
agents on shift are online, and the latest arrivals were assigned by the router, each assignment with
the routing event that says why."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event
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
        select(Event).where(Event.type == "assigned", Event.data["via"].as_string() == "routing")
    )
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
