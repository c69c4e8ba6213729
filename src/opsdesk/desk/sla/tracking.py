"""Keeps a ticket's SLA bookkeeping current: its next due time, when the periodic check must look at it
again, and one ``sla_breached`` event per breached target. Everything is derived from the event log,
so a restart or a repeated run never records a breach twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.events import append_event
from opsdesk.core.models import Event
from opsdesk.desk.models import UNSOLVED, Ticket
from opsdesk.desk.sla.metrics import MetricClock, MetricStatus
from opsdesk.desk.sla.policy_cache import CachedPolicy
from opsdesk.desk.sla.queries import ticket_clocks

BREACH_EVENT = "sla_breached"
_BATCH = 200


def refresh_ticket_sla(session: Session, *, ticket: Ticket, clock: Clock) -> None:
    """Called at the end of every ticket change (a new ticket starts with :func:`start_ticket_sla`)."""
    _refresh(session, ticket, clock)


def start_ticket_sla(session: Session, *, ticket: Ticket, clock: Clock, events: Sequence[Event]) -> None:
    """For a ticket not yet written, from its opening ``events``: sets its next due time and when the
    periodic check must look at it, so its INSERT carries both. A new ticket has no breach to record."""
    _policy, _clocks, _events, ticket.sla_next_due_at, ticket.sla_check_at = _due_times(
        session, ticket, clock.now(), events
    )


def _due_times(
    session: Session, ticket: Ticket, now: datetime, known: Sequence[Event] | None
) -> tuple[CachedPolicy | None, list[MetricClock], list[Event], datetime | None, datetime | None]:
    """The policy, the clocks, the events read, the earliest target still owed (overdue ones included,
    so overdue tickets sort first in the views) and the earliest one not yet breached (when the
    periodic check must look again)."""
    policy, clocks, events = ticket_clocks(
        session, ticket=ticket, now=now, breaching_soon=timedelta(0), events=known
    )
    running = [c for c in clocks if c.running and c.due_at is not None]
    next_due = min((c.due_at for c in running if c.due_at), default=None)
    next_check = min(
        (c.due_at for c in running if c.due_at and c.status is not MetricStatus.BREACHED), default=None
    )
    return policy, clocks, events, next_due, next_check


def _refresh(session: Session, ticket: Ticket, clock: Clock) -> int:
    if ticket.id is None:
        session.flush()
    now = clock.now()
    policy, clocks, events, next_due, next_check = _due_times(session, ticket, now, None)
    ticket.sla_next_due_at, ticket.sla_check_at = next_due, next_check
    if policy is None:
        return 0
    recorded = {_breach_key(e.data) for e in events if e.type == BREACH_EVENT}
    added = 0
    for item in clocks:
        key = (item.metric, item.started_at)
        if item.status is not MetricStatus.BREACHED or key in recorded:
            continue
        assert item.due_at is not None
        append_event(
            session,
            subject_type="ticket",
            subject_id=ticket.id,
            type=BREACH_EVENT,
            at=now,
            data={
                "metric": item.metric,
                "due_at": item.due_at.isoformat(),
                "policy_id": policy.id,
                "started_at": item.started_at.isoformat(),
            },
        )
        recorded.add(key)
        added += 1
    return added


def _breach_key(data: dict[str, Any]) -> tuple[str | None, datetime | None]:
    """Which target a recorded breach was for: its metric and the instant its clock started (compared as
    instants, so the spelling of the time zone in stored JSON does not matter)."""
    started = data.get("started_at")
    try:
        return data.get("metric"), datetime.fromisoformat(started) if isinstance(started, str) else None
    except ValueError:
        return data.get("metric"), None


def check_breaches(session: Session, *, clock: Clock) -> int:
    """The periodic SLA check: refresh every ticket with a target that has fallen due since it was last
    refreshed; returns the breaches recorded. Rows are locked and skipped when locked (PostgreSQL), so
    parallel workers share the work."""
    now = clock.now()
    added = 0
    seen: set[int] = set()
    while True:
        query = (
            select(Ticket)
            .where(Ticket.sla_check_at.is_not(None), Ticket.sla_check_at <= now)
            .order_by(Ticket.sla_check_at, Ticket.id)
            .limit(_BATCH)
            .with_for_update(skip_locked=True)
        )
        if seen:
            query = query.where(Ticket.id.not_in(seen))
        batch = list(session.scalars(query))
        if not batch:
            return added
        for ticket in batch:
            seen.add(ticket.id)
            added += _refresh(session, ticket, clock)
        session.flush()


def refresh_unsolved(session: Session, *, clock: Clock, after_id: int = 0, limit: int = _BATCH) -> int | None:
    """Refresh one batch of unsolved tickets with ids above ``after_id``, after the policies or hours
    changed; returns the last id done, or None when no ticket was left."""
    batch = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.status.in_(UNSOLVED), Ticket.id > after_id)
            .order_by(Ticket.id)
            .limit(limit)
        )
    )
    for ticket in batch:
        _refresh(session, ticket, clock)
    return batch[-1].id if batch else None
