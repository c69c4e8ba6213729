"""Intraday reads: contacts that arrived and agents' presence from the event log (workforce reads the desk
through it, never through desk tables), the stored baselines and re-forecasts."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, User
from opsdesk.workforce.models import IntradayBaseline, IntradayReforecast

PRESENCE_EVENT = "presence_changed"


def arrivals(
    session: Session, *, start: datetime, end: datetime, step: timedelta, channels: list[str]
) -> dict[str, list[float]]:
    """Tickets created per channel in each interval of [start, end) (``step`` long, from ``start``)."""
    count = int((end - start) / step)
    out = {channel: [0.0] * count for channel in channels}
    channel = Event.data["channel"].as_string()
    rows = session.execute(
        select(channel, Event.at).where(
            Event.type == "ticket_created", Event.at >= start, Event.at < end, channel.in_(channels)
        )
    )
    for name, at in rows:
        index = int((at - start) / step)
        if 0 <= index < count:
            out[name][index] += 1.0
    return out


def presence_changes(
    session: Session, *, start: datetime, end: datetime
) -> tuple[dict[int, str], dict[int, list[tuple[datetime, str]]]]:
    """Each agent's status in force at ``start`` (its last change before), and its changes in
    [start, end) in order. An agent with no change before ``start`` was offline (routing's default)."""
    before = (
        select(func.max(Event.id))
        .where(Event.type == PRESENCE_EVENT, Event.subject_type == "user", Event.at < start)
        .group_by(Event.subject_id)
        .scalar_subquery()
    )
    initial: dict[int, str] = {}
    for agent, status in session.execute(
        select(Event.subject_id, Event.data["to"].as_string()).where(Event.id.in_(before))
    ):
        initial[int(agent)] = str(status)
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for agent, at, status in session.execute(
        select(Event.subject_id, Event.at, Event.data["to"].as_string())
        .where(Event.type == PRESENCE_EVENT, Event.subject_type == "user", Event.at >= start, Event.at < end)
        .order_by(Event.at, Event.id)
    ):
        changes[int(agent)].append((at, str(status)))
    return initial, dict(changes)


def names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(sorted(user_ids))))
    return {int(user_id): name for user_id, name in rows}


def baseline(session: Session, *, channel: str, origin: datetime) -> IntradayBaseline | None:
    return session.scalars(
        select(IntradayBaseline).where(IntradayBaseline.channel == channel, IntradayBaseline.origin == origin)
    ).first()


def reforecasts_between(session: Session, start: datetime, end: datetime) -> list[IntradayReforecast]:
    """The job's re-forecasts with a tick in [start, end), oldest first."""
    return list(
        session.scalars(
            select(IntradayReforecast)
            .where(IntradayReforecast.at >= start, IntradayReforecast.at < end)
            .order_by(IntradayReforecast.at, IntradayReforecast.channel)
            .limit(2000)
        )
    )
