"""The event log: the history that time-based KPIs and process mining are computed from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

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
    row = Event(
        at=at,
        actor_id=actor.id if actor is not None else None,
        subject_type=subject_type,
        subject_id=subject_id,
        type=type,
        data=data or {},
    )
    session.add(row)
    return row
