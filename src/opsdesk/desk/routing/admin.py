"""Routing configuration writes: settings, languages, skills, groups (tier, choice, members), agents'
routing profiles and sites' hours, one piece at a time (API, pages) or as one document (YAML import).

An import is declarative for what it names and leaves alone what it does not: a skill or group missing
from the file is kept, so a partial file never deletes configuration by accident.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Group, Site, User
from opsdesk.desk.actions import ASSIGNABLE_ROLES, normalise_tags
from opsdesk.desk.routing.models import AgentPresence, AgentShift, Language, RoutingGroup, SiteShift, Skill
from opsdesk.desk.routing.presence import set_capacity
from opsdesk.desk.routing.schemas import (
    AgentIn,
    Capacity,
    GroupIn,
    LanguageIn,
    RoutingConfig,
    SettingsIn,
    ShiftsIn,
    SiteIn,
    SkillIn,
)
from opsdesk.desk.routing.state import routing_settings
from opsdesk.desk.routing.triggers import request_drain
from opsdesk.desk.sla.models import BusinessSchedule


def _log(session: Session, clock: Clock, actor: User | None, what: str, data: dict[str, Any]) -> None:
    append_event(
        session,
        subject_type="routing_config",
        subject_id=1,
        type="routing_config_changed",
        at=clock.now(),
        actor=actor,
        data={"what": what, **data},
    )


def save_settings(session: Session, *, body: SettingsIn, clock: Clock, actor: User | None) -> None:
    row = routing_settings(session, clock.now())
    before: dict[str, Any] = {
        "enabled": row.enabled,
        "choice": row.choice.value,
        "skill_timeout_seconds": row.skill_timeout_seconds,
        "auto_away_seconds": row.auto_away_seconds,
        "default_capacity": dict(row.default_capacity),
        "default_language": row.default_language,
    }
    after = body.model_dump(mode="json")
    after["default_capacity"] = {**before["default_capacity"], **body.default_capacity.given()}
    if after == before:
        return
    row.enabled, row.choice = body.enabled, body.choice
    row.skill_timeout_seconds, row.auto_away_seconds = body.skill_timeout_seconds, body.auto_away_seconds
    row.default_capacity, row.default_language = after["default_capacity"], body.default_language
    row.updated_at = clock.now()
    _log(session, clock, actor, "settings", {"from": before, "to": after})
    session.flush()
    request_drain(session, clock=clock)


def save_language(session: Session, *, body: LanguageIn, clock: Clock, actor: User | None) -> Language:
    row = session.get(Language, body.code)
    if row is None:
        row = Language(code=body.code, name=body.name)
        session.add(row)
    elif row.name == body.name:
        return row
    row.name = body.name
    _log(session, clock, actor, "language", {"code": body.code, "name": body.name})
    session.flush()
    return row


def save_skill(session: Session, *, body: SkillIn, clock: Clock, actor: User | None) -> Skill:
    tags = normalise_tags(body.match_tags)
    row = session.scalar(select(Skill).where(Skill.name == body.name))
    if row is None:
        row = Skill(name=body.name, match_tags=tags, description=body.description)
        session.add(row)
    elif row.match_tags == tags and row.description == body.description:
        return row
    row.match_tags, row.description = tags, body.description
    _log(session, clock, actor, "skill", {"name": body.name, "match_tags": tags})
    session.flush()
    return row


def delete_skill(session: Session, *, name: str, clock: Clock, actor: User | None) -> None:
    row = session.scalar(select(Skill).where(Skill.name == name))
    if row is None:
        raise NotFound(f"no skill {name!r}", field="name")
    session.delete(row)
    _log(session, clock, actor, "skill_deleted", {"name": name})
    session.flush()


def _agent_by_email(session: Session, email: str, field: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(f"{email} is not an agent", field=field)
    return user


def save_group(
    session: Session, *, body: GroupIn, clock: Clock, actor: User | None, field: str = ""
) -> Group:
    group = session.scalar(select(Group).where(Group.name == body.name))
    if group is None:
        group = Group(name=body.name, tier=body.tier, sensitive_access=False, members=[])
        session.add(group)
        session.flush()
    group.tier = body.tier
    if body.members:
        group.members = [
            _agent_by_email(session, email, f"{field}members[{i}]") for i, email in enumerate(body.members)
        ]
    routing = session.get(RoutingGroup, group.id)
    if routing is None:
        session.add(RoutingGroup(group_id=group.id, choice=body.choice, last_agent_id=None))
    else:
        routing.choice = body.choice
    _log(
        session,
        clock,
        actor,
        "group",
        {"name": body.name, "tier": body.tier, "choice": body.choice, "members": len(group.members)},
    )
    session.flush()
    return group


def save_agent(session: Session, *, body: AgentIn, clock: Clock, actor: User | None, field: str = "") -> User:
    user = _agent_by_email(session, body.email, f"{field}email")
    known_skills = set(session.scalars(select(Skill.name)))
    unknown = [s for s in body.skills if s not in known_skills]
    if unknown:
        raise ValidationFailed(
            f"unknown skill {unknown[0]!r}; add it to skills first", field=f"{field}skills"
        )
    known_languages = set(session.scalars(select(Language.code)))
    strange = [code for code in body.languages if known_languages and code not in known_languages]
    if strange:
        raise ValidationFailed(
            f"unknown language {strange[0]!r}; add it to languages first", field=f"{field}languages"
        )
    user.languages, user.skills = list(body.languages), list(body.skills)
    set_capacity(session, agent=user, capacity=body.capacity.given(), clock=clock, actor=actor)
    _log(
        session,
        clock,
        actor,
        "agent",
        {
            "user_id": user.id,
            "languages": user.languages,
            "skills": user.skills,
            "capacity": body.capacity.given(),
        },
    )
    session.flush()
    return user


def save_site(
    session: Session, *, body: SiteIn, clock: Clock, actor: User | None, field: str = ""
) -> SiteShift:
    site = session.scalar(select(Site).where(Site.name == body.name))
    if site is None:
        raise ValidationFailed(f"no site {body.name!r}", field=f"{field}name")
    schedule_id = None
    if body.schedule is not None:
        schedule = session.scalar(select(BusinessSchedule).where(BusinessSchedule.name == body.schedule))
        if schedule is None:
            raise ValidationFailed(f"no business schedule {body.schedule!r}", field=f"{field}schedule")
        schedule_id = schedule.id
    row = session.get(SiteShift, site.id)
    if row is None:
        row = SiteShift(site_id=site.id, schedule_id=schedule_id, on_shift=False, checked_at=None)
        session.add(row)
    row.schedule_id = schedule_id
    _log(session, clock, actor, "site", {"site_id": site.id, "schedule": body.schedule})
    session.flush()
    return row


def import_config(
    session: Session, *, config: RoutingConfig, clock: Clock, actor: User | None
) -> dict[str, int]:
    """Apply a whole document in the caller's transaction; a bad entry fails it all, naming the entry."""
    if config.settings is not None:
        save_settings(session, body=config.settings, clock=clock, actor=actor)
    for language in config.languages:
        save_language(session, body=language, clock=clock, actor=actor)
    for skill in config.skills:
        save_skill(session, body=skill, clock=clock, actor=actor)
    for i, group in enumerate(config.groups):
        save_group(session, body=group, clock=clock, actor=actor, field=f"groups[{i}].")
    for i, agent in enumerate(config.agents):
        save_agent(session, body=agent, clock=clock, actor=actor, field=f"agents[{i}].")
    for i, site in enumerate(config.sites):
        save_site(session, body=site, clock=clock, actor=actor, field=f"sites[{i}].")
    return {
        "languages": len(config.languages),
        "skills": len(config.skills),
        "groups": len(config.groups),
        "agents": len(config.agents),
        "sites": len(config.sites),
    }


def export_config(session: Session) -> RoutingConfig:
    """The configuration as one document that :func:`import_config` reads back to the same state."""
    from opsdesk.desk.routing.state import current_settings

    row = current_settings(session)
    settings = (
        SettingsIn()
        if row is None
        else SettingsIn(
            enabled=row.enabled,
            choice=row.choice,
            skill_timeout_seconds=row.skill_timeout_seconds,
            auto_away_seconds=row.auto_away_seconds,
            default_capacity=Capacity(**row.default_capacity),
            default_language=row.default_language,
        )
    )
    choices = dict(session.execute(select(RoutingGroup.group_id, RoutingGroup.choice)).all())
    groups = [
        GroupIn(
            name=g.name,
            tier=g.tier,
            choice=choices.get(g.id),
            members=sorted(m.email for m in g.members if m.email),
        )
        for g in session.scalars(select(Group).order_by(Group.name))
    ]
    agents = [
        AgentIn(
            email=user.email or "",
            languages=list(user.languages or []),
            skills=list(user.skills or []),
            capacity=Capacity(**presence.capacity),
        )
        for user, presence in session.execute(
            select(User, AgentPresence)
            .join(AgentPresence, AgentPresence.user_id == User.id)
            .order_by(User.email)
        ).all()
        if user.email
    ]
    schedules = dict(session.execute(select(BusinessSchedule.id, BusinessSchedule.name)).all())
    sites = [
        SiteIn(name=site.name, schedule=schedules.get(shift.schedule_id) if shift.schedule_id else None)
        for site, shift in session.execute(
            select(Site, SiteShift).join(SiteShift, SiteShift.site_id == Site.id).order_by(Site.name)
        ).all()
    ]
    return RoutingConfig(
        settings=settings,
        languages=[
            LanguageIn(code=r.code, name=r.name)
            for r in session.scalars(select(Language).order_by(Language.code))
        ],
        skills=[
            SkillIn(name=s.name, match_tags=s.match_tags, description=s.description)
            for s in session.scalars(select(Skill).order_by(Skill.name))
        ],
        groups=groups,
        agents=agents,
        sites=sites,
    )


MAX_SHIFT = timedelta(hours=24)


def publish_shifts(
    session: Session, *, agent: User, body: ShiftsIn, clock: Clock, actor: User | None
) -> list[AgentShift]:
    """Replace the agent's published shifts between ``from`` and ``to`` (what a schedule publishes)."""
    if agent.role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(f"{agent.name} is not an agent", field="user_id")
    if body.to <= body.from_:
        raise ValidationFailed("'to' must be after 'from'", field="to")
    for i, shift in enumerate(body.shifts):
        if not body.from_ <= shift.starts_at < shift.ends_at <= body.to:
            raise ValidationFailed("a shift must start before it ends, within from-to", field=f"shifts[{i}]")
        if shift.ends_at - shift.starts_at > MAX_SHIFT:
            raise ValidationFailed("a shift is at most 24 hours", field=f"shifts[{i}]")
    session.execute(
        delete(AgentShift).where(
            AgentShift.user_id == agent.id,
            AgentShift.starts_at < body.to,
            AgentShift.ends_at > body.from_,
            AgentShift.absence.is_(False),  # approved time off outlives a re-published schedule
        )
    )
    rows = [AgentShift(user_id=agent.id, starts_at=s.starts_at, ends_at=s.ends_at) for s in body.shifts]
    session.add_all(rows)
    _log(
        session,
        clock,
        actor,
        "shifts",
        {"user_id": agent.id, "from": body.from_.isoformat(), "to": body.to.isoformat(), "shifts": len(rows)},
    )
    session.flush()
    request_drain(session, clock=clock)
    return rows


def publish_week_shifts(
    session: Session,
    *,
    agent: User,
    starts_from: datetime,
    starts_before: datetime,
    shifts: list[tuple[datetime, datetime]],
    clock: Clock,
    actor: User | None,
) -> bool:
    """Make ``shifts`` the agent's published shifts that start in ``starts_from``-``starts_before`` (a
    schedule's week). Shifts starting outside it stay, so last week's night shift that runs into this
    week is kept. Unchanged shifts are left as they are (ids, swaps and no event): publishing the same
    week twice changes nothing. Returns whether anything changed."""
    if agent.role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(f"{agent.name} is not an agent", field="user_id")
    for start, end in shifts:
        if not starts_from <= start < starts_before or not start < end <= start + MAX_SHIFT:
            raise ValidationFailed(
                "a shift starts inside the week and lasts at most 24 hours", field="shifts"
            )
    in_week = (
        AgentShift.user_id == agent.id,
        AgentShift.starts_at >= starts_from,
        AgentShift.starts_at < starts_before,
        AgentShift.absence.is_(False),  # approved time off outlives a re-published schedule
    )
    stored = session.execute(select(AgentShift.starts_at, AgentShift.ends_at).where(*in_week)).all()
    if sorted((start, end) for start, end in stored) == sorted(shifts):
        return False
    session.execute(delete(AgentShift).where(*in_week))
    session.add_all([AgentShift(user_id=agent.id, starts_at=start, ends_at=end) for start, end in shifts])
    _log(
        session,
        clock,
        actor,
        "shifts",
        {
            "user_id": agent.id,
            "from": starts_from.isoformat(),
            "to": starts_before.isoformat(),
            "shifts": len(shifts),
        },
    )
    session.flush()
    request_drain(session, clock=clock)
    return True


def publish_absence(
    session: Session, *, agent: User, starts_at: datetime, ends_at: datetime, clock: Clock, actor: User | None
) -> AgentShift:
    """Publish approved time off: routing treats the agent as off shift from ``starts_at`` to ``ends_at``
    whatever shifts are published there (see :func:`opsdesk.desk.routing.shifts.on_shift`)."""
    if ends_at <= starts_at:
        raise ValidationFailed("time off must end after it starts", field="ends_at")
    row = AgentShift(user_id=agent.id, starts_at=starts_at, ends_at=ends_at, absence=True)
    session.add(row)
    session.flush()
    _log(
        session,
        clock,
        actor,
        "absence",
        {"user_id": agent.id, "from": starts_at.isoformat(), "to": ends_at.isoformat(), "shift_id": row.id},
    )
    request_drain(session, clock=clock)
    return row


def move_shift(session: Session, *, shift: AgentShift, to: User, clock: Clock, actor: User | None) -> None:
    """Give a published shift to another agent (an approved swap): routing follows the new owner's shifts."""
    if shift.absence:
        raise ValidationFailed("time off cannot change hands", field="shift_id")
    if to.role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(f"{to.name} is not an agent", field="to_user_id")
    from_id, shift.user_id = shift.user_id, to.id
    session.flush()
    _log(session, clock, actor, "shift_moved", {"shift_id": shift.id, "from": from_id, "to": to.id})
    request_drain(session, clock=clock)
