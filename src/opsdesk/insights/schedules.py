"""The desk's published schedule as workforce reads it: routing keeps the shifts (and approved time off)
that decide who is on shift; workforce's intraday view compares them with presence and with the staffing
requirement without importing the desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.desk.routing.models import AgentShift

MAX_SHIFTS = 20_000


@dataclass(frozen=True)
class PublishedShift:
    user_id: int
    starts_at: datetime
    ends_at: datetime
    absence: bool  # approved time off: the agent is off shift through it whatever else is published


def published_shifts_between(session: Session, start: datetime, end: datetime) -> list[PublishedShift]:
    """Every agent's shifts and time off overlapping [start, end), in time order."""
    rows = session.execute(
        select(AgentShift.user_id, AgentShift.starts_at, AgentShift.ends_at, AgentShift.absence)
        .where(AgentShift.starts_at < end, AgentShift.ends_at > start)
        .order_by(AgentShift.starts_at, AgentShift.id)
        .limit(MAX_SHIFTS)
    )
    return [PublishedShift(int(user), starts, ends, bool(absence)) for user, starts, ends, absence in rows]
