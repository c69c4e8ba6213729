"""Model selection by rolling-origin cross-validation on the training history only.

The last weeks of the history are forecast from origins one week apart, each with the requested
horizon (at most 14 days, at least 7), exactly as the final forecast will be made. The two halves of
a forecast are ranked separately, which keeps selection cheap enough to run on every forecast:
daily-total models by their absolute error on the day totals, profiles by their slot error when
given the true day total. Then the means of the 1, 3 and 5 best of each are combined and scored on
the open slots of the same folds; the best combination forecasts from the end of the history and
its fold errors feed the prediction intervals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product

import numpy as np
from numpy.typing import NDArray

from opsdesk.workforce.forecasting.candidates import (
    PROFILE_WEEKS,
    day_totals,
    future_weekdays,
    profile_label,
    profile_models,
    statsforecast_totals,
    total_models,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

FOLDS = 3
CALIBRATION_FOLDS = 12
MIN_TRAIN_DAYS = 14
ENSEMBLE_SIZES = (1, 3, 5)


@dataclass(frozen=True)
class Selection:
    """The chosen model, its forecast (days, slots) and its out-of-sample fold errors."""

    name: str
    point: FloatArray
    cv_forecast: FloatArray  # open cells of every fold, flattened
    cv_actual: FloatArray
    cv_mae: float
    folds: int
    # The chosen model's out-of-sample errors from more origins (the selection folds and up to
    # CALIBRATION_FOLDS weekly origins in all), with each cell's day ahead of its origin (0 = first day).
    calibration: Calibration | None = None


@dataclass(frozen=True)
class Calibration:
    forecast: FloatArray
    actual: FloatArray
    step: IntArray


@dataclass
class _Folds:
    """What each fold needs to score combinations later: forecasts and actuals on its open cells."""

    totals: list[FloatArray] = field(default_factory=list)  # (models, cells): total of each cell's day
    shares: list[FloatArray] = field(default_factory=list)  # (profiles, cells)
    actual: list[FloatArray] = field(default_factory=list)  # (cells,)
    steps: list[IntArray] = field(default_factory=list)  # (cells,): days after the fold's origin


def fold_origins(days: int, horizon_days: int, folds: int = FOLDS) -> tuple[list[int], int]:
    """Origins (rows) one week apart ending at the history's end, and the fold horizon in days."""
    fold_horizon = max(7, min(horizon_days, 14))
    fold_horizon = min(fold_horizon, days - MIN_TRAIN_DAYS)
    origins = [days - fold_horizon - 7 * k for k in range(folds)]
    return sorted(o for o in origins if o >= MIN_TRAIN_DAYS), fold_horizon


def select_and_forecast(
    values: FloatArray,
    weekday: IntArray,
    open_mask: BoolArray,
    horizon_days: int,
    on_fold: Callable[[], None] | None = None,
    thorough: bool = False,
) -> Selection:
    """Choose a model by rolling-origin CV on `values` (days, slots) and forecast `horizon_days` on."""
    days = values.shape[0]
    totals = day_totals(values)
    open_days = np.asarray(open_mask.any(axis=1), dtype=np.bool_)
    origins, fold_horizon = fold_origins(days, horizon_days)
    total_names, total_table = total_models(totals, weekday, open_days, [*origins, days])
    profile_names, profile_table = profile_models(values, totals, weekday, open_mask, [*origins, days])

    def total_rows(position: int, origin: int, horizon: int) -> tuple[list[str], FloatArray]:
        rows = total_table[position][:, future_weekdays(weekday, origin, horizon)]
        if not thorough:
            return total_names, rows
        extra_names, extra_rows = statsforecast_totals(totals, weekday, open_days, origin, horizon)
        return total_names + extra_names, np.vstack([rows, extra_rows])

    total_error: FloatArray | None = None
    profile_error: FloatArray | None = None
    folds = _Folds()
    names: list[str] = total_names
    for position, origin in enumerate(origins):
        names, fold_totals = total_rows(position, origin, fold_horizon)
        future = future_weekdays(weekday, origin, fold_horizon)
        cells = open_mask[future]
        day_of_cell = np.nonzero(cells)[0]
        actual = values[origin : origin + fold_horizon][cells]
        actual_totals = totals[origin : origin + fold_horizon]
        shares = profile_table[position][:, future, :][:, cells]
        fold_total_error = np.abs(fold_totals - actual_totals).sum(axis=1)
        fold_profile_error = np.abs(shares * actual_totals[day_of_cell] - actual).sum(axis=1)
        total_error = fold_total_error if total_error is None else total_error + fold_total_error
        profile_error = fold_profile_error if profile_error is None else profile_error + fold_profile_error
        folds.totals.append(fold_totals[:, day_of_cell])
        folds.shares.append(shares)
        folds.actual.append(actual)
        folds.steps.append(day_of_cell.astype(np.int64))
        if on_fold is not None:
            on_fold()
    if total_error is None or profile_error is None:
        raise AssertionError("fold_origins yields an origin for any history of MIN_HISTORY_DAYS")
    total_rank = np.argsort(total_error, kind="stable")
    profile_rank = np.argsort(profile_error, kind="stable")
    fold_totals = np.concatenate(folds.totals, axis=1)
    fold_shares = np.concatenate(folds.shares, axis=1)
    actual_all = np.concatenate(folds.actual)
    best: tuple[float, IntArray, IntArray, FloatArray] | None = None
    for n_totals, n_profiles in product(ENSEMBLE_SIZES, ENSEMBLE_SIZES):
        chosen_totals, chosen_profiles = total_rank[:n_totals], profile_rank[:n_profiles]
        predicted = fold_totals[chosen_totals].mean(axis=0) * fold_shares[chosen_profiles].mean(axis=0)
        error = float(np.abs(predicted - actual_all).sum())
        if best is None or error < best[0]:
            best = (error, chosen_totals, chosen_profiles, predicted)
    if best is None:
        raise AssertionError("ENSEMBLE_SIZES is not empty")
    error, chosen_totals, chosen_profiles, cv_forecast = best

    _names, final_totals = total_rows(len(origins), days, horizon_days)
    future = future_weekdays(weekday, days, horizon_days)
    point = (
        final_totals[chosen_totals].mean(axis=0)[:, None]
        * profile_table[-1][chosen_profiles].mean(axis=0)[future]
    )
    extra_origins = [
        origin for origin in fold_origins(days, horizon_days, CALIBRATION_FOLDS)[0] if origin not in origins
    ]
    chosen_names = ([names[int(i)] for i in chosen_totals], [profile_names[int(i)] for i in chosen_profiles])
    extra = _calibration_cells(
        values, weekday, open_mask, extra_origins, fold_horizon, chosen_names, thorough
    )
    calibration = Calibration(
        forecast=np.concatenate([extra.forecast, cv_forecast]),
        actual=np.concatenate([extra.actual, actual_all]),
        step=np.concatenate([extra.step, *folds.steps]),
    )
    return Selection(
        name=f"daily total: {_describe(names, chosen_totals)}; "
        f"profile: {_describe(profile_names, chosen_profiles)}",
        point=point,
        cv_forecast=cv_forecast,
        cv_actual=actual_all,
        cv_mae=error / max(actual_all.size, 1),
        folds=len(origins),
        calibration=calibration,
    )


def _calibration_cells(
    values: FloatArray,
    weekday: IntArray,
    open_mask: BoolArray,
    origins: list[int],
    fold_horizon: int,
    chosen: tuple[list[str], list[str]],
    thorough: bool,
) -> Calibration:
    """The chosen model re-run from more origins; each sees only the days before it. Only the chosen
    profiles' windows are computed, and statsforecast's totals only when one of them was chosen."""
    empty = np.zeros(0)
    if not origins:
        return Calibration(forecast=empty, actual=empty, step=np.zeros(0, dtype=np.int64))
    chosen_totals, chosen_profiles = chosen
    totals = day_totals(values)
    open_days = np.asarray(open_mask.any(axis=1), dtype=np.bool_)
    total_names, total_table = total_models(totals, weekday, open_days, origins)
    windows = [
        window
        for window in PROFILE_WEEKS
        if any(
            name.split(" profile of ")[1].split(",")[0] == profile_label(window) for name in chosen_profiles
        )
    ]
    profile_names, profile_table = profile_models(values, totals, weekday, open_mask, origins, windows)
    profile_index = [profile_names.index(name) for name in chosen_profiles]
    slow = thorough and any(name not in total_names for name in chosen_totals)
    forecasts: list[FloatArray] = []
    actuals: list[FloatArray] = []
    steps: list[IntArray] = []
    for position, origin in enumerate(origins):
        future = future_weekdays(weekday, origin, fold_horizon)
        names, rows = total_names, total_table[position][:, future]
        if slow:
            extra_names, extra_rows = statsforecast_totals(totals, weekday, open_days, origin, fold_horizon)
            names, rows = names + extra_names, np.vstack([rows, extra_rows])
        total_index = [names.index(name) for name in chosen_totals]
        cells = open_mask[future]
        day_of_cell = np.nonzero(cells)[0]
        shares = profile_table[position][profile_index].mean(axis=0)[future][cells]
        forecasts.append(rows[total_index].mean(axis=0)[day_of_cell] * shares)
        actuals.append(values[origin : origin + fold_horizon][cells])
        steps.append(day_of_cell.astype(np.int64))
    actual = np.concatenate(actuals)
    present = ~np.isnan(actual)
    forecast = np.concatenate(forecasts)[present]
    return Calibration(forecast=forecast, actual=actual[present], step=np.concatenate(steps)[present])


def _describe(names: list[str], chosen: IntArray) -> str:
    if chosen.size == 1:
        return names[int(chosen[0])]
    return f"mean of {chosen.size} ({' | '.join(names[int(i)] for i in chosen)})"
