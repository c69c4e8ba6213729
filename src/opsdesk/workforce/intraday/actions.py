"""The intraday job's writes: the day's baseline forecast (once a day per channel) and the re-forecast at
each 15-minute tick."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import OpsDeskError
from opsdesk.workforce.intraday import queries
from opsdesk.workforce.intraday.day import staffing_targets
from opsdesk.workforce.intraday.forecasts import INTERVAL, baseline_origin, channel_forecast
from opsdesk.workforce.intraday.reforecast import WINDOW, ratio
from opsdesk.workforce.models import IntradayReforecast


def tick_of(now: datetime) -> datetime:
    """The 15-minute boundary at or before ``now`` (UTC)."""
    utc = now.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def record_reforecasts(session: Session, *, clock: Clock) -> list[IntradayReforecast]:
    """Re-forecast every channel at the current tick, replacing a row already written for it (the job
    is delivered at least once). A channel whose history cannot be forecast is skipped until it can."""
    now = clock.now()
    tick = tick_of(now)
    _source, run, targets = staffing_targets(session, now)
    starts = [tick - (WINDOW - i) * INTERVAL for i in range(WINDOW)]
    arrived = queries.arrivals(session, start=starts[0], end=tick, step=INTERVAL, channels=list(targets))
    origin = baseline_origin(now)
    rows = []
    for channel in targets:
        try:
            source, values = channel_forecast(
                session, run=run, channel=channel, starts=starts, origin=origin, store=clock
            )
        except OpsDeskError:
            continue
        if any(value is None for value in values):
            continue
        expected = float(sum(value or 0.0 for value in values))
        actual = float(sum(arrived[channel]))
        row = session.scalars(
            select(IntradayReforecast).where(
                IntradayReforecast.at == tick, IntradayReforecast.channel == channel
            )
        ).first()
        if row is None:
            row = IntradayReforecast(at=tick, channel=channel)
            session.add(row)
        row.source = source[:300]
        row.window_actual = actual
        row.window_forecast = round(expected, 3)
        row.ratio = ratio(actual, expected)
        row.computed_at = now
        rows.append(row)
    session.flush()
    return rows
