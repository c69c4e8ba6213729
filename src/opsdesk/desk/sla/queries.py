"""Reads: the policy that applies to a ticket, its SLA clocks, and the schedules and policies lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import Event
from opsdesk.core.queries import get_or_not_found
from opsdesk.core.settings import Settings, get_settings
from opsdesk.desk.models import Ticket
from opsdesk.desk.sla.metrics import (
    FIRST_REPLY,
    NEXT_REPLY,
    RESOLUTION,
    MetricClock,
    MetricStatus,
    TicketEvent,
    compute_clocks,
)
from opsdesk.desk.sla.models import BusinessSchedule, SlaPolicy
from opsdesk.desk.sla.policies import TicketFacts, normalise_tag, select_policy
from opsdesk.desk.sla.policy_cache import CachedPolicy, policy_snapshot


def ticket_facts(ticket: Ticket) -> TicketFacts:
    organisation = ticket.organisation or ticket.requester.organisation
    organisation_tags = organisation.tags if organisation is not None else []
    tags = {normalise_tag(t) for t in [*ticket.tags, *organisation_tags]}
    return TicketFacts(ticket.priority.value, ticket.channel.value, frozenset(tags))


# Statements run on every ticket change are built once.
_POLICIES = select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)
_TICKET_EVENTS = (
    select(Event)
    .where(Event.subject_type == "ticket", Event.subject_id == bindparam("ticket_id"))
    .order_by(Event.id)
)


def policies(session: Session) -> list[SlaPolicy]:
    """The stored rows, in list order, for pages and API calls that show or edit them."""
    return list(session.scalars(_POLICIES))


def applicable_policy(session: Session, ticket: Ticket) -> CachedPolicy | None:
    """From the process's policy snapshot: one version SELECT when the policies have not changed."""
    snapshot = policy_snapshot(session)
    if not snapshot.policies:
        return None
    if not snapshot.uses_tags:
        # No condition looks at tags: spare loading the ticket's organisation and tag rows.
        untagged = TicketFacts(ticket.priority.value, ticket.channel.value, frozenset())
        return select_policy(snapshot.policies, untagged)
    return select_policy(snapshot.policies, ticket_facts(ticket))


def ticket_events(session: Session, ticket: Ticket) -> list[Event]:
    """The ticket's log in order: what is stored, then what this transaction has added but not yet
    flushed (in the order it was added, the order a flush would give it ids in). Reading without a flush
    lets a change and the SLA due time it leads to reach the database in one flush, one row write."""
    with session.no_autoflush:
        stored = list(session.scalars(_TICKET_EVENTS, {"ticket_id": ticket.id}))
    pending = [
        item
        for item in session.new
        if isinstance(item, Event) and item.subject_type == "ticket" and item.subject_id == ticket.id
    ]
    pending.sort(key=lambda item: inspect(item).insert_order or 0)
    return stored + pending


_NO_TARGETS: Mapping[str, timedelta] = MappingProxyType({})


def ticket_clocks(
    session: Session,
    *,
    ticket: Ticket,
    now: datetime,
    breaching_soon: timedelta,
    events: Sequence[Event] | None = None,
) -> tuple[CachedPolicy | None, list[MetricClock], list[Event]]:
    """The policy that applies now, every target instance of the ticket under it, and the events read
    (none when no policy applies: nothing is measured then). ``events`` is the ticket's whole log, in
    order, when the caller already holds it (a ticket created in this transaction), saving the read."""
    with session.no_autoflush:  # policies change only through actions that flush; the ticket is read as is
        policy = applicable_policy(session, ticket)
    if policy is None:
        return None, [], []
    events = list(events) if events is not None else ticket_events(session, ticket)
    clocks = compute_clocks(
        [TicketEvent(e.at, e.type, e.data) for e in events],
        targets=policy.targets.get(ticket.priority.value, _NO_TARGETS),
        calendar_at=policy.calendar_at,
        pausing_statuses=policy.pausing_statuses,
        now=now,
        breaching_soon=breaching_soon,
    )
    return policy, clocks, events


@dataclass(frozen=True)
class MetricSla:
    metric: str
    target_minutes: int
    started_at: datetime
    due_at: datetime | None
    ended_at: datetime | None
    elapsed_minutes: float
    calendar_elapsed_minutes: float
    remaining_minutes: float
    status: MetricStatus


@dataclass(frozen=True)
class TicketSla:
    ticket_id: int
    policy_id: int | None
    policy_name: str | None
    calendar: str
    metrics: list[MetricSla]


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 2)


def sla_state(
    session: Session, *, ticket: Ticket, clock: Clock, settings: Settings | None = None
) -> TicketSla:
    """The ticket's SLA as an agent sees it: first reply, resolution and the latest next-reply exchange."""
    settings = settings or get_settings()
    policy, clocks, _events = ticket_clocks(
        session,
        ticket=ticket,
        now=clock.now(),
        breaching_soon=timedelta(minutes=settings.breaching_soon_minutes),
    )
    latest: dict[str, MetricClock] = {}
    for item in clocks:
        latest[item.metric] = item
    shown = [latest[m] for m in (FIRST_REPLY, NEXT_REPLY, RESOLUTION) if m in latest]
    return TicketSla(
        ticket_id=ticket.id,
        policy_id=policy.id if policy is not None else None,
        policy_name=policy.name if policy is not None else None,
        calendar=policy.schedule_name if policy is not None and policy.schedule_name is not None else "24x7",
        metrics=[
            MetricSla(
                metric=c.metric,
                target_minutes=int(c.target.total_seconds() // 60),
                started_at=c.started_at,
                due_at=c.due_at,
                ended_at=c.ended_at,
                elapsed_minutes=_minutes(c.elapsed),
                calendar_elapsed_minutes=_minutes(c.calendar_elapsed),
                remaining_minutes=_minutes(c.remaining),
                status=c.status,
            )
            for c in shown
        ],
    )


def schedules(session: Session) -> list[BusinessSchedule]:
    return list(session.scalars(select(BusinessSchedule).order_by(BusinessSchedule.name)))


def schedule_by_id(session: Session, schedule_id: int) -> BusinessSchedule:
    return get_or_not_found(session, BusinessSchedule, schedule_id, "business schedule", field="schedule_id")


def policy_by_id(session: Session, policy_id: int) -> SlaPolicy:
    return get_or_not_found(session, SlaPolicy, policy_id, "SLA policy", field="policy_id")
