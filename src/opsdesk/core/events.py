"""The event log: the history that time-based KPIs and process mining are computed from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from opsdesk.core.inserted_rows import column_values
from opsdesk.core.models import Event, User


def append_event(
    session: Session,
    *,
    subject_type: str,
    subject_id: int,
    type: str,
    at: datetime,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add one event to the caller's transaction; it commits or rolls back with the change it records."""
    row = new_event(
        subject_type=subject_type, subject_id=subject_id, type=type, at=at, actor=actor, data=data
    )
    session.add(row)
    return row


def new_event(
    *,
    subject_type: str,
    subject_id: int | None,
    type: str,
    at: datetime,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """An event held by its caller, not the session, until :func:`write_events` writes it; a change
    may read its own events (the SLA clocks do) before its rows, and their ids, exist."""
    return Event(
        at=at,
        actor_id=actor.id if actor is not None else None,
        subject_type=subject_type,
        subject_id=subject_id,
        type=type,
        data=data or {},
    )


_INSERT_EVENTS = insert(Event)


def write_events(session: Session, events: list[Event]) -> None:
    """Write held events now, in order, in one statement on the session's connection: no unit-of-work
    flush, which costs more than the insert on a hot path such as ticket creation. Events depend on no
    pending row (their subject is referenced by id), so nothing needs flushing first."""
    if not events:
        return
    session.connection().execute(_INSERT_EVENTS, [column_values(e) for e in events])
