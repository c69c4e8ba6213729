"""Routing in the demo organisation: skills, languages, group choices, capacities and site shifts set up
through the same admin actions a team uses, agents on shift online, and the real router assigning the
latest arrivals (demo/tickets.py leaves them waiting), so those tickets carry the routing events that
produced their assignments (the older history is routed by the same core, demo/history_routing.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import Role, Tier, User
from opsdesk.demo.people import DemoPeople
from opsdesk.desk.routing.admin import import_config
from opsdesk.desk.routing.dispatch import BATCH, route_waiting
from opsdesk.desk.routing.handover import check_shifts
from opsdesk.desk.routing.models import PresenceStatus, SiteShift
from opsdesk.desk.routing.presence import presence_of, set_presence
from opsdesk.desk.routing.router import Choice
from opsdesk.desk.routing.schemas import (
    AgentIn,
    Capacity,
    GroupIn,
    LanguageIn,
    RoutingConfig,
    SettingsIn,
    SiteIn,
    SkillIn,
)
from opsdesk.desk.routing.shifts import on_shift
from opsdesk.desk.routing.state import site_hours
from opsdesk.desk.sla.actions import create_business_schedule

# Local shift hours per site: together they cover the day, overlapping where the sun hands over.
SHIFT_HOURS = {
    "Manila": ("06:00", "18:00"),
    "Dublin": ("07:00", "19:00"),
    "Chicago": ("07:00", "19:00"),
    "Seattle": ("07:00", "19:00"),
    "San Francisco": ("09:00", "21:00"),
}
SKILLS = [
    SkillIn(name="billing", match_tags=["billing"], description="Invoices, payments, refunds"),
    SkillIn(
        name="enrollment", match_tags=["enrollment", "eligibility"], description="Enrolment and eligibility"
    ),
    SkillIn(name="claims", match_tags=["claims"], description="Claims status and appeals"),
    SkillIn(name="account-access", match_tags=["login"], description="Sign-in and access"),
    SkillIn(name="api", match_tags=["api"], description="The public API"),
    SkillIn(name="sso", match_tags=["sso"], description="Single sign-on"),
    SkillIn(name="integrations", match_tags=[], description="HRIS and payroll integrations"),
    SkillIn(name="data-feeds", match_tags=[], description="Eligibility files"),
    SkillIn(name="technical", match_tags=["bug"], description="Defects"),
]
LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("zh", "Chinese"),
    ("tl", "Tagalog"),
    ("fr", "French"),
    ("de", "German"),
]
L2_CAPACITY = Capacity(chat=2, call=1, ticket=5)
DEFAULT_CAPACITY = Capacity(chat=3, call=1, ticket=8)
SKILL_TIMEOUT = timedelta(minutes=15)


def create_routing_demo(session: Session, *, people: DemoPeople, clock: Clock) -> dict[str, int]:
    now = clock.now()
    admin = people.admin
    for site in people.sites:
        start, end = SHIFT_HOURS[site.name]
        create_business_schedule(
            session,
            name=f"{site.name} shift",
            timezone=site.timezone,
            intervals=[{"weekday": d, "start": start, "end": end} for d in range(7)],
            actor=admin,
            clock=clock,
        )
    engineers = session.scalars(
        select(User).where(User.role == Role.AGENT, User.tier == Tier.L2).order_by(User.id)
    ).all()
    config = RoutingConfig(
        settings=SettingsIn(
            enabled=True,
            choice=Choice.SPARE_CAPACITY,
            skill_timeout_seconds=int(SKILL_TIMEOUT.total_seconds()),
            auto_away_seconds=600,
            default_capacity=DEFAULT_CAPACITY,
            default_language="en",
        ),
        languages=[LanguageIn(code=code, name=name) for code, name in LANGUAGES],
        skills=SKILLS,
        # The Americas' advocates share work in turn; the other groups by spare capacity.
        groups=[
            GroupIn(
                name=group.name, tier=group.tier, choice=Choice.ROUND_ROBIN if region == "Americas" else None
            )
            for region, group in people.l1_groups.items()
        ],
        agents=[
            AgentIn(email=e.email or "", languages=e.languages, skills=e.skills, capacity=L2_CAPACITY)
            for e in engineers
            if e.email
        ],
        sites=[SiteIn(name=s.name, schedule=f"{s.name} shift") for s in people.sites],
    )
    import_config(session, config=config, clock=clock, actor=admin)
    hours = site_hours(session, now)
    online = 0
    agents = session.scalars(select(User).where(User.role == Role.AGENT).order_by(User.id)).all()
    for agent in agents:
        if agent.site_id is not None and on_shift(now, site_hours=hours.get(agent.site_id)):
            set_presence(session, agent=agent, status=PresenceStatus.ONLINE, clock=clock, actor=agent)
            online += 1
        else:
            presence_of(session, agent, now)
    check_shifts(session, clock=clock)  # remember which sites are on shift now
    routed = skip = 0
    while True:  # as dispatch.drain does, inside the demo's one transaction
        result = route_waiting(session, clock=clock, offset=skip)
        routed += len(result.assigned)
        if result.items < BATCH and not result.assigned:
            break
        skip += result.items - len(result.assigned)
    return {
        "agents online": online,
        "sites on shift": sum(bool(row.on_shift) for row in session.scalars(select(SiteShift))),
        "tickets routed": routed,
    }
