"""Reads for workforce planning: the desk's contact history from its event log (workforce never imports
desk), and stored plan runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.core.queries import get_or_not_found
from opsdesk.workforce.models import PlanRun, PlanScenario

if TYPE_CHECKING:
    import pandas as pd


def contact_volume_history(
    session: Session, *, channel: str, step_minutes: int, before: datetime | None = None
) -> pd.DataFrame:
    """Tickets created on `channel` per interval (UTC bucket starts), zero-filled between the first and
    the last bucket so quiet intervals read as zero volume rather than as missing data.

    `before` (usually now) drops the interval it falls in and everything after: that interval is
    still filling up and would look like a drop in volume.
    """
    import numpy as np
    import pandas as pd

    query = select(Event.at).where(
        Event.type == "ticket_created", Event.data["channel"].as_string() == channel
    )
    if before is not None:
        query = query.where(Event.at < before)
    stamps = pd.DatetimeIndex(list(session.scalars(query.order_by(Event.at))))
    if stamps.empty:
        return pd.DataFrame({"timestamp": pd.DatetimeIndex([], tz="UTC"), "volume": np.array([], float)})
    step = pd.Timedelta(minutes=step_minutes)
    buckets = stamps.tz_convert("UTC").floor(step)
    last = buckets[-1]
    if before is not None and pd.Timestamp(before).tz_convert("UTC").floor(step) == last:
        last = last - step
    grid = pd.date_range(buckets[0], last, freq=step) if last >= buckets[0] else buckets[:0]
    counts = pd.Series(1.0, index=buckets).groupby(level=0).sum().reindex(grid, fill_value=0.0)
    return pd.DataFrame({"timestamp": grid, "volume": counts.to_numpy(dtype=np.float64)})


def latest_plan(session: Session) -> PlanRun | None:
    """The most recently built plan run, if any."""
    return session.scalars(
        select(PlanRun).order_by(PlanRun.created_at.desc(), PlanRun.id.desc()).limit(1)
    ).first()


def plan_by_id(session: Session, plan_id: int) -> PlanRun:
    return get_or_not_found(session, PlanRun, plan_id, "plan run", field="id")


def recent_plans(session: Session, *, limit: int = 10) -> list[PlanRun]:
    """The latest runs, newest first, for picking an earlier one to compare."""
    query = select(PlanRun).order_by(PlanRun.created_at.desc(), PlanRun.id.desc()).limit(limit)
    return list(session.scalars(query))


def scenario_by_id(session: Session, scenario_id: int) -> PlanScenario:
    return get_or_not_found(session, PlanScenario, scenario_id, "scenario", field="id")


def list_scenarios(session: Session, *, limit: int = 50) -> list[PlanScenario]:
    query = select(PlanScenario).order_by(PlanScenario.id.desc()).limit(limit)
    return list(session.scalars(query))
