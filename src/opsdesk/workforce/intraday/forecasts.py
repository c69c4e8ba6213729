"""The original forecast a day is re-forecast from, per channel and 15-minute interval: the stored plan's
where it covers the intervals, else the day's baseline (made from the desk's history before yesterday's
UTC midnight by the forecasting module, stored by the intraday job)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.intraday import queries
from opsdesk.workforce.models import IntradayBaseline, PlanRun
from opsdesk.workforce.queries import contact_volume_history

INTERVAL = timedelta(minutes=15)
BASELINE_DAYS = 3  # from yesterday's UTC midnight: covers "today" in every zone from UTC-12 to UTC+14


def baseline_origin(now: datetime) -> datetime:
    """Yesterday's UTC midnight: the baseline is made from the history before it."""
    utc = now.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC) - timedelta(days=1)


def plan_values(run: PlanRun, channel: str, starts: Sequence[datetime]) -> list[float | None]:
    """The plan's forecast on 15-minute intervals: a longer plan interval is split evenly into its
    quarters (or halves); None where the plan has no forecast."""
    data = run.forecast.get(channel)
    if not data:
        return [None] * len(starts)
    step = timedelta(minutes=int(run.config.get("interval_minutes", 60)))
    parts = step / INTERVAL
    by_stamp = {
        datetime.fromisoformat(text).astimezone(UTC): value
        for text, value in zip(data["timestamps"], data["forecast"], strict=True)
    }
    epoch = datetime(2000, 1, 3, tzinfo=UTC)
    out: list[float | None] = []
    for start in starts:
        bucket = start - (start - epoch) % step
        value = by_stamp.get(bucket)
        out.append(None if value is None else float(value) / parts)
    return out


def baseline_values(row: IntradayBaseline, starts: Sequence[datetime]) -> list[float | None]:
    step = timedelta(minutes=row.interval_minutes)
    out: list[float | None] = []
    for start in starts:
        index, rest = divmod(start - row.origin, step)
        out.append(float(row.forecast[index]) if not rest and 0 <= index < len(row.forecast) else None)
    return out


def make_baseline(session: Session, *, channel: str, origin: datetime) -> tuple[str, list[float]]:
    """Forecast BASELINE_DAYS from ``origin`` from the channel's history before it (seconds of work)."""
    import pandas as pd

    from opsdesk.workforce.forecasting.forecaster import forecast_volume
    from opsdesk.workforce.forecasting.history import history_from_frame

    minutes = int(INTERVAL / timedelta(minutes=1))
    raw = contact_volume_history(session, channel=channel, step_minutes=minutes, before=origin)
    if raw.empty:
        raise ValidationFailed(f"the desk has no {channel} tickets before {origin:%Y-%m-%d}", field=channel)
    first = pd.Timestamp(raw["timestamp"].iloc[0])
    index = pd.date_range(first, pd.Timestamp(origin) - INTERVAL, freq=INTERVAL)
    volume = pd.Series(raw["volume"].to_numpy(), index=pd.DatetimeIndex(raw["timestamp"])).reindex(
        index, fill_value=0.0
    )
    frame = pd.DataFrame({"timestamp": index, "volume": volume.to_numpy()})
    result = forecast_volume(
        history_from_frame(frame, source=f"the desk's {channel} history"),
        step_minutes=minutes,
        horizon=timedelta(days=BASELINE_DAYS),
    )
    stamps = pd.DatetimeIndex(result.frame["timestamp"]).tz_convert(UTC)
    if stamps[0] != pd.Timestamp(origin):
        raise ValidationFailed(f"the {channel} forecast does not start at {origin:%Y-%m-%d %H:%M} UTC")
    return result.model, [round(float(v), 3) for v in result.frame["forecast"]]


def channel_forecast(
    session: Session,
    *,
    run: PlanRun | None,
    channel: str,
    starts: Sequence[datetime],
    origin: datetime,
    store: Clock | None = None,
) -> tuple[str, list[float | None]]:
    """(where it comes from, the forecast on ``starts``). The plan wins when it covers every one of
    ``starts``; else the stored baseline, else one made now (and stored when ``store`` gives the clock
    to stamp it with: the job stores, a page only reads). Raises OpsDeskError when the history cannot
    be forecast (too short, no tickets)."""
    if run is not None:
        values = plan_values(run, channel, starts)
        if all(value is not None for value in values):
            return f"plan run #{run.id}", values
    row = queries.baseline(session, channel=channel, origin=origin)
    if row is None:
        model, forecast = make_baseline(session, channel=channel, origin=origin)
        row = IntradayBaseline(
            channel=channel,
            origin=origin,
            interval_minutes=int(INTERVAL / timedelta(minutes=1)),
            made_at=store.now() if store is not None else origin,
            model=model[:300],
            forecast=forecast,
        )
        if store is not None:
            session.add(row)
            session.flush()
    return f"desk history to {origin:%Y-%m-%d} 00:00 UTC ({row.model})", baseline_values(row, starts)
