"""The driver model: volume = contacts per active customer x customer count.

Contact volume grows with the customer base, which the customer-success plan forecasts better than
any extrapolation of volume can. So the history is divided by the customer count in force at each
interval (the contact rate, expressed at the latest customer count so that it stays on the scale of
counts the models and intervals expect), the rate is forecast like any volume, and each future
interval is multiplied back by the customer count forecast for it relative to the latest count.
Customer counts are step functions: a count holds from its timestamp until the next one, and the last
one holds beyond the end of the series.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.forecasting.forecaster import VolumeForecast, forecast_volume
from opsdesk.workforce.forecasting.history import VolumeHistory
from opsdesk.workforce.forecasting.holidays import DayKind

BOUND_COLUMNS = ("forecast", "lo80", "hi80", "lo95", "hi95")


def forecast_with_customers(
    history: VolumeHistory,
    customers: pd.Series,
    *,
    step_minutes: int,
    horizon: timedelta,
    special_days: Mapping[date, DayKind] | None = None,
    open_only: bool = False,
    on_fold: Callable[[], None] | None = None,
    thorough: bool = False,
) -> VolumeForecast:
    """Forecast volume as the contact rate per customer times `customers` (history and forecast).

    `customers` is indexed by timestamps (tz-aware ones are read in the history's zone) and must
    start no later than the history.
    """
    counts = _wall_series(customers, history)
    if counts.empty or counts.index[0] > history.wall[0]:
        raise ValidationFailed(
            "customer counts must start no later than the volume history", field="customers"
        )
    if (counts.to_numpy() <= 0).any():
        raise ValidationFailed("customer counts must be positive", field="customers")
    past = _step_values(counts, history.wall)
    reference = past[-1]
    rate = replace(history, volume=history.volume * reference / past)
    result = forecast_volume(
        rate,
        step_minutes=step_minutes,
        horizon=horizon,
        special_days=special_days,
        open_only=open_only,
        on_fold=on_fold,
        thorough=thorough,
    )
    future_wall = pd.DatetimeIndex(result.frame["timestamp"]).tz_convert(history.zone).tz_localize(None)
    scale = _step_values(counts, future_wall) / reference
    frame = result.frame.copy()
    for column in BOUND_COLUMNS:
        frame[column] = frame[column].to_numpy() * scale
    return replace(result, frame=frame, model=f"contact rate per customer x customers; rate: {result.model}")


def read_customers_csv(path: Path) -> pd.Series:
    """Customer counts from a CSV with columns timestamp,customers (ISO 8601, increasing)."""
    stamps: list[datetime] = []
    counts: list[float] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            if "timestamp" not in header or "customers" not in header:
                raise ValidationFailed(
                    f"{path}, line 1: need columns timestamp,customers", field="--customers"
                )
            reader.fieldnames = header
            for record in reader:
                line = reader.line_num
                try:
                    stamp = datetime.fromisoformat((record["timestamp"] or "").strip().replace("Z", "+00:00"))
                    count = float((record["customers"] or "").strip())
                except ValueError:
                    raise ValidationFailed(
                        f"{path}, line {line}: need an ISO 8601 timestamp and a number", field="--customers"
                    ) from None
                if not math.isfinite(count) or count <= 0:
                    raise ValidationFailed(
                        f"{path}, line {line}: customers must be positive", field="--customers"
                    )
                if stamps and (stamp.tzinfo is None) != (stamps[-1].tzinfo is None):
                    raise ValidationFailed(
                        f"{path}, line {line}: mixes timestamps with and without offsets", field="--customers"
                    )
                if stamps and stamp <= stamps[-1]:
                    raise ValidationFailed(
                        f"{path}, line {line}: timestamps must increase", field="--customers"
                    )
                stamps.append(stamp)
                counts.append(count)
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot read ({exc.strerror or exc})", field="--customers") from None
    if not stamps:
        raise ValidationFailed(f"{path}: no rows", field="--customers")
    index = (
        pd.DatetimeIndex([pd.Timestamp(s) for s in stamps])
        if stamps[0].tzinfo is None
        else (pd.DatetimeIndex([pd.Timestamp(s).tz_convert("UTC") for s in stamps]))
    )
    return pd.Series(counts, index=index, dtype=np.float64)


def _wall_series(customers: pd.Series, history: VolumeHistory) -> pd.Series:
    index = pd.DatetimeIndex(customers.index)
    if index.tz is not None:
        index = index.tz_convert(history.zone).tz_localize(None)
    series = pd.Series(customers.to_numpy(dtype=np.float64), index=index).sort_index()
    return series[~series.index.duplicated(keep="last")]


def _step_values(counts: pd.Series, at: pd.DatetimeIndex) -> np.ndarray:
    positions = np.searchsorted(counts.index.asi8, at.asi8, side="right") - 1
    return np.asarray(counts.to_numpy()[np.maximum(positions, 0)], dtype=np.float64)
