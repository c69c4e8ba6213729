"""A plan run's scheduled week for named agents: the lines' shifts read back from the run, the agents of
its sites with their skills, contracted hours and approved time off, and the pure assignment
(:mod:`opsdesk.workforce.roster.assign`) over them.

Publishing the result as routing's shifts is a desk write; workforce does not import the desk, so the
web layer joins the two steps (``opsdesk.web.roster_flow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Role, Site, User
from opsdesk.core.roles import Tier
from opsdesk.workforce.models import AgentContract, PlanRun
from opsdesk.workforce.roster.assign import LineShift, NamedAgent, Roster, SiteRules, assign_agents
from opsdesk.workforce.sites import SitesConfig
from opsdesk.workforce.time_off.models import TimeOffRequest, TimeOffStatus

MAX_AGENTS = 5000


@dataclass(frozen=True)
class AgentRow:
    """One line of the result table: an agent, the shifts they got and their hours against contract."""

    user: User
    shifts: list[LineShift]
    minutes: int
    contracted_minutes: int
    contract_set: bool  # False: no contract stored, the site's weekly maximum was used


@dataclass(frozen=True)
class WeekRoster:
    run: PlanRun
    week_start: datetime
    week_end: datetime
    roster: Roster
    agents: list[AgentRow]


def _sites(run: PlanRun) -> SitesConfig:
    from opsdesk.workforce.planning import parse_config  # pandas: loaded when a week is assigned

    return parse_config(run.config)[0].sites


def line_shifts(run: PlanRun) -> list[LineShift]:
    """The shifts of the run's schedule lines. Runs built before lines were stored have none."""
    if "lines" not in run.schedule:
        raise ValidationFailed(
            "this plan was built before schedule lines were kept: build a new plan to assign agents",
            field="plan_id",
        )
    sites = _sites(run)
    shifts = []
    for row in run.schedule["lines"]:
        start = datetime.fromisoformat(row["start"])
        shifts.append(
            LineShift(
                line=row["line"],
                site=row["site"],
                team=row["team"],
                skills=frozenset(row["skills"]),
                languages=frozenset(row["languages"]),
                start=start,
                end=datetime.fromisoformat(row["end"]),
                work_minutes=int(row["work_minutes"]),
                day=start.astimezone(sites.site(row["site"]).zone).date(),
            )
        )
    return shifts


def week_of(run: PlanRun) -> tuple[datetime, datetime]:
    """The scheduled week: from the run's first schedule interval, seven days."""
    start = datetime.fromisoformat(run.schedule["timestamps"][0])
    return start, start + timedelta(days=7)


def _tier_skills(user: User) -> frozenset[str]:
    """An agent's tier counts as a skill, as plans that staff by tier name their teams' skills ("L1",
    "L2"): an L2 engineer also holds L1 work, an L1 advocate only L1."""
    if user.tier is Tier.L2:
        return frozenset({Tier.L1.value, Tier.L2.value})
    return frozenset({Tier.L1.value}) if user.tier is Tier.L1 else frozenset()


def roster_for_run(session: Session, run: PlanRun) -> WeekRoster:
    """Assign the active agents of the run's sites to its schedule lines (nothing is written)."""
    shifts = line_shifts(run)
    config = _sites(run)
    start, end = week_of(run)
    names = [site.name for site in config.sites]
    users = list(
        session.scalars(
            select(User)
            .join(Site, Site.id == User.site_id)
            .where(User.role == Role.AGENT, User.active.is_(True), Site.name.in_(names))
            .order_by(User.id)
            .limit(MAX_AGENTS)
        )
    )
    ids = [u.id for u in users]
    contracts = {
        c.user_id: c.minutes_per_week
        for c in session.scalars(select(AgentContract).where(AgentContract.user_id.in_(ids)))
    }
    time_off: dict[int, list[tuple[datetime, datetime]]] = {i: [] for i in ids}
    for request in session.scalars(
        select(TimeOffRequest).where(
            TimeOffRequest.user_id.in_(ids),
            TimeOffRequest.status == TimeOffStatus.APPROVED,
            TimeOffRequest.starts_at < end + timedelta(days=1),  # a shift may run past the week's end
            TimeOffRequest.ends_at > start,
        )
    ):
        time_off[request.user_id].append((request.starts_at, request.ends_at))
    rules = {
        site.name: SiteRules(
            min_rest_minutes=round(site.rules.min_rest_hours * 60),
            max_consecutive_days=site.rules.max_consecutive_days,
            min_days_off=site.rules.min_days_off_per_week,
            max_week_minutes=round(site.rules.max_hours_per_week * 60),
        )
        for site in config.sites
    }
    agents = []
    for user in users:
        site = user.site.name if user.site is not None else None
        site_rules = rules.get(site or "")
        full_time = site_rules.max_week_minutes if site_rules is not None else 0
        agents.append(
            NamedAgent(
                id=user.id,
                name=user.name,
                site=site,
                skills=frozenset(user.skills or ()) | _tier_skills(user),
                languages=frozenset(user.languages or ()),
                contracted_minutes=contracts.get(user.id, full_time),
                time_off=tuple(time_off[user.id]),
            )
        )
    roster = assign_agents(shifts, agents, rules)
    rows = [
        AgentRow(
            user=user,
            shifts=roster.shifts_of(agent.id),
            minutes=roster.minutes[agent.id],
            contracted_minutes=agent.contracted_minutes,
            contract_set=user.id in contracts,
        )
        for user, agent in zip(users, agents, strict=True)
    ]
    return WeekRoster(run=run, week_start=start, week_end=end, roster=roster, agents=rows)
