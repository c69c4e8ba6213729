"""Reading what the pure router needs from the database: settings, agents (presence, capacity, load,
shift) and waiting work, each in a handful of set-based queries however many agents and items."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, String, and_, any_, bindparam, case, func, select, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from opsdesk.core.models import Group, Role, Tier, User, group_members
from opsdesk.desk.models import Status, Ticket, TicketTag
from opsdesk.desk.routing.models import (
    DEFAULT_CAPACITY,
    AgentPresence,
    AgentShift,
    PresenceStatus,
    QueueEntry,
    RoutingGroup,
    RoutingSettings,
    SiteShift,
    Skill,
)
from opsdesk.desk.routing.router import AgentState, CapacityKind, RoutingPolicy, WorkItem, capacity_kind
from opsdesk.desk.routing.shifts import SCHEDULE_REACH, on_shift
from opsdesk.desk.sla.business_hours import BusinessHours
from opsdesk.desk.sla.calendars import calendar_at_for
from opsdesk.desk.sla.models import BusinessSchedule

# Work that counts against capacity: what waits on the agent. Pending, on-hold and solved do not.
COUNTED = (Status.NEW, Status.OPEN)
# Work the queue holds: unassigned and waiting on the team.
WAITING = (Status.NEW, Status.OPEN)
ROUTABLE_ROLES = (Role.AGENT, Role.SUPPORT_LEAD)
PRIORITY_SQL = case(
    (Ticket.priority == "urgent", 3), (Ticket.priority == "high", 2), (Ticket.priority == "low", 0), else_=1
)


def current_settings(session: Session) -> RoutingSettings | None:
    """The settings row; None until an admin (or the demo) configures routing, and routing is off."""
    return session.get(RoutingSettings, 1)


def routing_settings(session: Session, now: datetime) -> RoutingSettings:
    """The settings row for changing, created with the defaults on first use."""
    row = session.get(RoutingSettings, 1)
    if row is None:
        row = RoutingSettings(
            id=1,
            enabled=True,
            skill_timeout_seconds=None,
            auto_away_seconds=600,
            default_capacity=dict(DEFAULT_CAPACITY),
            updated_at=now,
        )
        session.add(row)
        session.flush()
    return row


def policy_of(session: Session, settings: RoutingSettings) -> RoutingPolicy:
    groups = session.execute(select(RoutingGroup.group_id, RoutingGroup.choice)).all()
    timeout = settings.skill_timeout_seconds
    return RoutingPolicy(
        choice=settings.choice,
        group_choice={group_id: choice for group_id, choice in groups if choice is not None},
        skill_timeout=timedelta(seconds=timeout) if timeout is not None else None,
    )


def round_robin_pointers(session: Session) -> dict[int, int]:
    rows = session.execute(select(RoutingGroup.group_id, RoutingGroup.last_agent_id)).all()
    return {group_id: agent_id for group_id, agent_id in rows if agent_id is not None}


def site_hours(session: Session, now: datetime) -> dict[int, BusinessHours | None]:
    """Each configured site's hours in force at ``now`` (None: 24x7)."""
    out: dict[int, BusinessHours | None] = {}
    for site_id, schedule_id in session.execute(select(SiteShift.site_id, SiteShift.schedule_id)).all():
        schedule = session.get(BusinessSchedule, schedule_id) if schedule_id is not None else None
        out[site_id] = None if schedule is None else cast(BusinessHours, calendar_at_for(schedule)(now))
    return out


def site_on_shift(hours: dict[int, BusinessHours | None], site_id: int | None, now: datetime) -> bool:
    if site_id is None:
        return True
    return on_shift(now, site_hours=hours.get(site_id))


def agent_loads(
    session: Session, agent_ids: Sequence[int] | None = None, *, exclude_ticket: int | None = None
) -> dict[int, dict[CapacityKind, int]]:
    """Open work per agent and capacity kind, in one grouped query."""
    query = (
        select(Ticket.assignee_id, Ticket.channel, func.count())
        .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(COUNTED))
        .group_by(Ticket.assignee_id, Ticket.channel)
    )
    if agent_ids is not None:
        query = query.where(Ticket.assignee_id.in_(agent_ids))
    if exclude_ticket is not None:
        query = query.where(Ticket.id != exclude_ticket)
    loads: dict[int, dict[CapacityKind, int]] = defaultdict(dict)
    for agent_id, channel, count in session.execute(query).all():
        kind = capacity_kind(channel.value)
        assert agent_id is not None  # the query keeps assigned tickets only
        loads[agent_id][kind] = loads[agent_id].get(kind, 0) + count
    return loads


def capacity_of(presence: AgentPresence, default: dict[str, Any]) -> dict[CapacityKind, int]:
    return {kind: int(presence.capacity.get(kind.value, default.get(kind.value, 0))) for kind in CapacityKind}


def _routable_capacity(presence: AgentPresence, default: dict[str, Any]) -> dict[CapacityKind, int]:
    """Capacity routing may fill now: no chats for an agent not taking chats, no call for one on a call."""
    capacity = capacity_of(presence, default)
    if not presence.in_chats:
        capacity[CapacityKind.CHAT] = 0
    if presence.on_call:
        capacity[CapacityKind.CALL] = 0
    return capacity


def load_agents(
    session: Session,
    *,
    now: datetime,
    settings: RoutingSettings,
    presences: Sequence[AgentPresence] | None = None,
) -> list[AgentState]:
    """Every agent with a presence row (or those given, e.g. the rows this worker locked), as routing
    sees them now."""
    if presences is None:
        presences = session.scalars(
            select(AgentPresence).where(AgentPresence.status == PresenceStatus.ONLINE)
        ).all()
    ids = [p.user_id for p in presences]
    if not ids:
        return []
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_(ids), User.active.is_(True), User.role.in_(ROUTABLE_ROLES))
        )
    }
    groups: dict[int, set[int]] = defaultdict(set)
    sensitive: set[int] = set()
    rows = session.execute(
        select(group_members.c.user_id, group_members.c.group_id, Group.sensitive_access)
        .join(Group, Group.id == group_members.c.group_id)
        .where(group_members.c.user_id.in_(ids))
    ).all()
    for user_id, group_id, is_sensitive in rows:
        groups[user_id].add(group_id)
        if is_sensitive:
            sensitive.add(user_id)
    shifts: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    absences: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for user_id, start, end, absence in session.execute(
        select(AgentShift.user_id, AgentShift.starts_at, AgentShift.ends_at, AgentShift.absence).where(
            AgentShift.user_id.in_(ids),
            AgentShift.starts_at < now + SCHEDULE_REACH,
            AgentShift.ends_at > now - SCHEDULE_REACH,
        )
    ).all():
        (absences if absence else shifts)[user_id].append((start, end))
    hours = site_hours(session, now)
    loads = agent_loads(session, ids)
    agents = []
    for presence in presences:
        user = users.get(presence.user_id)
        if user is None:
            continue
        agents.append(
            AgentState(
                id=user.id,
                tier=(user.tier or Tier.L1).value,
                site_id=user.site_id,
                group_ids=frozenset(groups[user.id]),
                languages=frozenset(user.languages or ()),
                skills=frozenset(user.skills or ()),
                online=presence.status is PresenceStatus.ONLINE,
                on_shift=on_shift(
                    now,
                    site_hours=hours.get(user.site_id) if user.site_id is not None else None,
                    shifts=shifts.get(user.id, ()),
                    absences=absences.get(user.id, ()),
                ),
                capacity=_routable_capacity(presence, settings.default_capacity),
                load=dict(loads.get(user.id, {})),
                last_assigned_at=presence.last_assigned_at,
                sensitive_access=user.id in sensitive,
            )
        )
    return agents


def skill_tags(session: Session) -> dict[str, frozenset[str]]:
    """Tag -> the skills a ticket carrying it needs."""
    out: dict[str, set[str]] = defaultdict(set)
    for skill in session.scalars(select(Skill)):
        for tag in {skill.name, *skill.match_tags}:
            out[tag].add(skill.name)
    return {tag: frozenset(names) for tag, names in out.items()}


def waiting_query(limit: int, *, lock: bool, offset: int = 0) -> Any:
    """Unassigned tickets waiting on the team, in queue order, with their queue facts and language.
    ``lock`` takes row locks that skip rows another worker holds (PostgreSQL; SQLite ignores FOR
    UPDATE and relies on its single writer). Enums come back as their plain values: this runs for
    thousands of rows per pass."""
    query = (
        select(
            Ticket.id,
            type_coerce(Ticket.channel, String).label("channel"),
            type_coerce(Ticket.priority, String).label("priority"),
            type_coerce(Ticket.tier, String).label("tier"),
            Ticket.group_id,
            Ticket.sensitive,
            Ticket.created_at,
            Ticket.sla_next_due_at,
            Ticket.custom_fields["language"].as_string().label("language"),
            User.languages[0].as_string().label("requester_language"),
            QueueEntry.queued_at,
            QueueEntry.previous_assignee_id,
            QueueEntry.site_id,
        )
        .join(User, User.id == Ticket.requester_id)
        .outerjoin(QueueEntry, QueueEntry.ticket_id == Ticket.id)
        .where(
            and_(Ticket.assignee_id.is_(None), Ticket.status.in_(WAITING), Ticket.merged_into_id.is_(None))
        )
        .order_by(
            PRIORITY_SQL.desc(), Ticket.sla_next_due_at.asc().nulls_last(), Ticket.created_at, Ticket.id
        )
        .limit(limit)
        .offset(offset)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=Ticket)
    return query


def load_items(
    session: Session, *, settings: RoutingSettings, limit: int, lock: bool, offset: int = 0
) -> list[WorkItem]:
    connection = session.connection()
    rows = connection.execute(waiting_query(limit, lock=lock, offset=offset)).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    if connection.dialect.name == "postgresql":
        # One array parameter rather than thousands of expanded IN parameters (compiled per call).
        in_batch = TicketTag.ticket_id == any_(bindparam("ids", ids, type_=postgresql.ARRAY(Integer)))
    else:
        in_batch = TicketTag.ticket_id.in_(ids)
    tags_by: dict[int, list[str]] = defaultdict(list)
    tag_rows = connection.execute(select(TicketTag.ticket_id, TicketTag.tag).where(in_batch)).all()
    for ticket_id, tag in tag_rows:
        tags_by[ticket_id].append(tag)
    needs = skill_tags(session)
    skills_of: dict[tuple[str, ...], frozenset[str]] = {(): frozenset()}
    items = []
    for row in rows:
        tags = tuple(tags_by.get(row.id, ()))
        skills = skills_of.get(tags)
        if skills is None:
            skills = skills_of[tags] = frozenset().union(*(needs.get(tag, frozenset()) for tag in tags))
        items.append(
            WorkItem(
                ticket_id=row.id,
                channel=row.channel,
                priority=row.priority,
                tier=row.tier,
                group_id=row.group_id,
                language=row.language or row.requester_language or settings.default_language,
                skills=skills,
                queued_at=row.queued_at or row.created_at,
                sla_due_at=row.sla_next_due_at,
                sensitive=row.sensitive,
                site_id=row.site_id,
                previous_assignee_id=row.previous_assignee_id,
            )
        )
    return items
