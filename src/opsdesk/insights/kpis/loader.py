"""Reads the ticket tables and the event log into the KPI frames, plus the schedules and SLA policies the
definitions measure with. Payload fields are picked out by the database (JSON extraction in SQL), so no
Python runs per event. Only numbers and classifications are read: never a subject, body or name of a
requester."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql import Executable

from opsdesk.core.models import Event, Group, Organisation, Role, Site, User
from opsdesk.desk.models import UNSOLVED, Ticket, TicketTag
from opsdesk.desk.sla.business_hours import BusinessHours
from opsdesk.desk.sla.calendars import hours_of
from opsdesk.desk.sla.models import BusinessSchedule
from opsdesk.desk.sla.policies import TicketFacts, normalise_tag, select_policy
from opsdesk.desk.sla.policy_cache import CachedPolicy, policy_snapshot
from opsdesk.insights.kpis.frames import CALL_COLUMNS, EVENT_COLUMNS, EVENT_TYPES, TICKET_COLUMNS, KpiFrames
from opsdesk.insights.kpis.request import KpiRequest
from opsdesk.success.models import Account, Segment

if TYPE_CHECKING:
    import pandas as pd


def load(
    session: Session, request: KpiRequest
) -> tuple[KpiFrames, dict[int, list[tuple[datetime, BusinessHours]]], dict[int, CachedPolicy]]:
    """The frames for the tickets the period can involve (and all their events), the schedules and the
    active SLA policies."""
    since = datetime.combine(request.start, time(), UTC)
    until = datetime.combine(request.end + timedelta(days=1), time(), UTC)
    return load_tickets(session, _involved(since, until))


def load_all(
    session: Session,
) -> tuple[KpiFrames, dict[int, list[tuple[datetime, BusinessHours]]], dict[int, CachedPolicy]]:
    """The frames of every ticket (for the Parquet export)."""
    return load_tickets(session, true())


def load_tickets(
    session: Session, involved: ColumnElement[bool]
) -> tuple[KpiFrames, dict[int, list[tuple[datetime, BusinessHours]]], dict[int, CachedPolicy]]:
    import pandas as pd

    snapshot = policy_snapshot(session)
    tickets = _frame(session, _tickets_query(involved), (*TICKET_COLUMNS[:-2], "organisation_id"))
    tickets["created_at"] = pd.to_datetime(tickets["created_at"], utc=True)
    for column in ("status", "channel", "priority", "tier"):
        tickets[column] = tickets[column].map(lambda v: getattr(v, "value", v))
    for flag in ("merged", "sensitive"):
        tickets[flag] = tickets[flag].fillna(0).astype(bool)
    tags = _frame(
        session,
        select(TicketTag.ticket_id, TicketTag.tag).join(Ticket).where(involved),
        ("ticket_id", "tag"),
    )
    policy_of = _policies_of(session, tickets, tags, snapshot.policies, snapshot.uses_tags)
    tickets["policy_id"] = tickets["ticket_id"].map(policy_of).astype("Int64")
    by_id = {p.id: p for p in snapshot.policies}
    tickets["schedule_id"] = (
        tickets["policy_id"]
        .map(lambda p: by_id[p].schedule_id if p is not pd.NA and p in by_id else None)
        .astype("Int64")
    )
    events = _frame(session, _events_query(involved), EVENT_COLUMNS)
    events["at"] = pd.to_datetime(events["at"], utc=True)
    calls = _frame(session, _calls_query(involved), CALL_COLUMNS)
    calls["at"] = pd.to_datetime(calls["at"], utc=True)
    agents = dict(session.execute(select(User.id, User.email).where(User.role != Role.REQUESTER)).all())
    frames = KpiFrames(tickets[list(TICKET_COLUMNS)], tags, events, calls, pd.Series(agents, dtype="object"))
    return frames, _schedules(session), by_id


def load_measures(
    session: Session,
) -> tuple[dict[int, list[tuple[datetime, BusinessHours]]], dict[int, CachedPolicy]]:
    """The schedules and the active SLA policies alone (when the frames come from Parquet)."""
    return _schedules(session), {p.id: p for p in policy_snapshot(session).policies}


def _frame(session: Session, query: Executable, columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(session.execute(query).all(), columns=list(columns))


def _involved(since: datetime, until: datetime) -> ColumnElement[bool]:
    """Tickets created before the period ends that it can involve: created in it, unsolved now, solved
    or closed in it or later, or with an event in it (a rating, a call, a reopen). A ticket settled
    before the period and untouched in it counts towards nothing, so years of history are not read."""
    touched = select(Event.subject_id).where(
        Event.subject_type == "ticket", Event.type.in_((*EVENT_TYPES, "call_completed")), Event.at >= since,
        Event.at < until,
    )  # fmt: skip
    return and_(
        Ticket.created_at < until,
        or_(
            Ticket.created_at >= since,
            Ticket.status.in_(UNSOLVED),
            Ticket.solved_at >= since,
            Ticket.closed_at >= since,
            Ticket.id.in_(touched),
        ),
    )


def _tickets_query(involved: ColumnElement[bool]) -> Select[Any]:
    assignee = aliased(User)
    segment_name = (
        select(Segment.name)
        .join(Account, Segment.id == func.coalesce(Account.segment_override_id, Account.segment_id))
        .where(Account.organisation_id == Ticket.organisation_id)
        .order_by(Account.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.status,
            Ticket.channel,
            Ticket.priority,
            Ticket.tier,
            Group.name,
            Site.name,
            assignee.email,
            segment_name,
            Ticket.merged_into_id.is_not(None),
            Ticket.sensitive,
            Ticket.organisation_id,
        )
        .outerjoin(Group, Group.id == Ticket.group_id)
        .outerjoin(Site, Site.id == Ticket.site_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .where(involved)
        .order_by(Ticket.id)
    )


def _events_query(involved: ColumnElement[bool]) -> Select[Any]:
    data = Event.data
    return (
        select(
            Event.subject_id,
            Event.id,
            Event.at,
            Event.type,
            func.coalesce(data["to"].as_string(), data["status"].as_string()),
            data["from"].as_string(),
            data["public"].as_boolean(),
            data["author_kind"].as_string(),
            data["created_by_agent"].as_boolean(),
            data["agent_id"].as_integer(),
            data["rating"].as_string(),
            data["score"].as_integer(),
            data["scale"].as_string(),
            data["by"].as_string(),
        )
        .join(Ticket, and_(Ticket.id == Event.subject_id, Event.subject_type == "ticket"))
        .where(Event.type.in_(EVENT_TYPES), involved)
        .order_by(Event.id)
    )


def _calls_query(involved: ColumnElement[bool]) -> Select[Any]:
    data = Event.data
    return (
        select(
            Event.subject_id,
            Event.id,
            Event.at,
            data["agent_id"].as_integer(),
            data["wait_s"].as_float(),
            data["talk_s"].as_float(),
            data["hold_s"].as_float(),
            data["wrap_s"].as_float(),
            data["abandoned"].as_boolean(),
            data["voicemail"].as_boolean(),
        )
        .join(Ticket, and_(Ticket.id == Event.subject_id, Event.subject_type == "ticket"))
        .where(Event.type == "call_completed", involved)
        .order_by(Event.id)
    )


def _policies_of(
    session: Session,
    tickets: pd.DataFrame,
    tags: pd.DataFrame,
    policies: tuple[CachedPolicy, ...],
    uses_tags: bool,
) -> Mapping[int, int]:
    """Ticket id -> the policy that applies now, chosen once per distinct (priority, channel, tags)."""
    if not policies or not len(tickets):
        return {}
    keyed = tickets[["ticket_id", "priority", "channel"]].copy()
    keyed["tags"] = [frozenset[str]()] * len(keyed)
    if uses_tags:
        organisation_tags = dict(session.execute(select(Organisation.id, Organisation.tags)).all())
        own = tags.groupby("ticket_id")["tag"].agg(lambda t: frozenset(normalise_tag(x) for x in t))
        keyed["tags"] = [
            own.get(ticket_id, frozenset())
            | frozenset(normalise_tag(x) for x in organisation_tags.get(organisation) or [])
            for ticket_id, organisation in zip(tickets["ticket_id"], tickets["organisation_id"], strict=True)
        ]
    chosen: dict[tuple[str, str, frozenset[str]], int | None] = {}
    result: dict[int, int] = {}
    for ticket_id, priority, channel, tag_set in keyed.itertuples(index=False):
        key = (priority, channel, tag_set)
        if key not in chosen:
            policy = select_policy(policies, TicketFacts(priority, channel, tag_set))
            chosen[key] = policy.id if policy is not None else None
        if chosen[key] is not None:
            result[int(ticket_id)] = chosen[key]  # type: ignore[assignment]
    return result


def _schedules(session: Session) -> dict[int, list[tuple[datetime, BusinessHours]]]:
    schedules: dict[int, list[tuple[datetime, BusinessHours]]] = {}
    for schedule in session.scalars(
        select(BusinessSchedule).options(selectinload(BusinessSchedule.versions))
    ):
        versions = sorted(schedule.versions, key=lambda v: v.effective_from)
        schedules[schedule.id] = [(v.effective_from, hours_of(v)) for v in versions]
    return schedules
