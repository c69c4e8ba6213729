"""From a channel's history to its interval forecast with 80% and 95% prediction intervals."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from opsdesk.workforce.forecasting.history import VolumeHistory, to_grid
from opsdesk.workforce.forecasting.holidays import DayKind, apply_special_days, special_profile
from opsdesk.workforce.forecasting.intervals import fit_error_quantiles, intervals
from opsdesk.workforce.forecasting.selection import select_and_forecast

COLUMNS = ["timestamp", "forecast", "lo80", "hi80", "lo95", "hi95"]


@dataclass(frozen=True)
class VolumeForecast:
    """The forecast frame (timestamps tz-aware, in the history's zone) and how it was made."""

    frame: pd.DataFrame
    model: str
    cv_mae: float
    folds: int
    filled: int
    clipped: int


def forecast_volume(
    history: VolumeHistory,
    *,
    step_minutes: int,
    horizon: timedelta,
    special_days: Mapping[date, DayKind] | None = None,
    open_only: bool = False,
    on_fold: Callable[[], None] | None = None,
    thorough: bool = False,
) -> VolumeForecast:
    """Forecast the `horizon` after the last observation, one row per interval (closed ones zero).

    With `open_only`, intervals outside the operating hours and closed days are left out instead.
    `thorough` adds statsforecast's AutoETS (and MSTL with a yearly season, given two years) to the
    daily-total candidates: sometimes better on trending or yearly-seasonal totals, but far slower.
    """
    special_days = dict(special_days or {})
    grid = to_grid(history, step_minutes, special_days)
    step = pd.Timedelta(minutes=step_minutes)
    last_bucket = history.wall[-1].floor(step)
    start = pd.Timestamp(last_bucket).tz_localize(history.zone, ambiguous=False, nonexistent="shift_forward")
    instants = pd.date_range(start=start + step, periods=max(1, horizon // step), freq=step)
    local = instants.tz_convert(history.zone)
    wall_minutes = local.tz_localize(None).asi8 // 60_000_000_000
    forecast_first_day = grid.first_day + timedelta(days=grid.days)
    rows = wall_minutes // 1440 - (pd.Timestamp(forecast_first_day).value // 60_000_000_000) // 1440
    slots = (wall_minutes % 1440) // step_minutes
    horizon_days = int(rows.max()) + 1

    selection = select_and_forecast(
        grid.values, grid.weekdays(), grid.open_mask, horizon_days, on_fold, thorough
    )
    profile = special_profile(grid.observed_special, grid.values, grid.special)
    point = apply_special_days(selection.point, forecast_first_day, special_days, profile)
    calibration = selection.calibration
    errors = (
        fit_error_quantiles(calibration.forecast, calibration.actual, calibration.step)
        if calibration is not None
        else fit_error_quantiles(selection.cv_forecast, selection.cv_actual)
    )
    bounds = intervals(point, errors)

    weekday = (forecast_first_day.weekday() + np.arange(horizon_days)) % 7
    open_cells = grid.open_mask[weekday].copy()
    for row in range(horizon_days):
        if special_days.get(forecast_first_day + timedelta(days=row)) is DayKind.CLOSED:
            open_cells[row] = False
    is_open = open_cells[rows, slots]
    keep = is_open if open_only else np.ones(len(instants), dtype=bool)
    columns = {"timestamp": local[keep]}
    for name in COLUMNS[1:]:
        values = point if name == "forecast" else bounds[name]
        columns[name] = np.where(is_open, values[rows, slots], 0.0)[keep]
    return VolumeForecast(
        frame=pd.DataFrame(columns),
        model=selection.name,
        cv_mae=selection.cv_mae,
        folds=selection.folds,
        filled=grid.filled,
        clipped=grid.clipped,
    )
