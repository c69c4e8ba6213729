"""Candidate models: daily total forecasts and intraday profiles, combined by `selection`.

Contact-centre volume is well described by how many contacts a day brings and how that day spreads
over its slots; the spread is stable and can be averaged over many weeks (which removes most of the
slot-level noise), while the daily total carries the level and the weekday effect. A forecast is one
daily-total model x one profile model; the weekly seasonal naive is "same weekday last week" x "that
weekday's profile of 1 week". All of it is numpy on a (days, slots) grid so that rolling-origin
selection costs milliseconds.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

SAME_WEEKDAY_MEANS = (1, 2, 3, 4, 6, 8)
SAME_WEEKDAY_MEDIANS = (3, 5)
LEVEL_WEEKS = (1, 2, 4)
FACTOR_WEEKS = (4, 12)
PROFILE_WEEKS = (1, 2, 4, 8, 16, 0)  # 0: the whole history


def day_totals(values: FloatArray) -> FloatArray:
    return np.nansum(values, axis=1)


def future_weekdays(weekday: IntArray, origin: int, horizon: int) -> IntArray:
    return np.asarray((weekday[origin - 1] + 1 + np.arange(horizon)) % 7, dtype=np.int64)


def total_models(
    totals: FloatArray, weekday: IntArray, open_days: BoolArray, origins: Sequence[int]
) -> tuple[list[str], FloatArray]:
    """Each total model's forecast for each weekday, from each origin: (origins, models, 7).

    All origins are computed together from prefix sums, so cross-validation costs one pass.
    """
    ends = np.asarray(origins, dtype=np.int64)
    per_week = max(int(open_days.sum()), 1)
    depth = max(*SAME_WEEKDAY_MEANS, *SAME_WEEKDAY_MEDIANS, *FACTOR_WEEKS)
    # recent[o, d, j]: the total of the (j+1)-th most recent weekday d before origin o (NaN if none)
    recent = np.full((ends.size, 7, depth), np.nan)
    for day in np.nonzero(open_days)[0]:
        same = totals[weekday == day]
        before = np.searchsorted(np.nonzero(weekday == day)[0], ends)
        index = before[:, None] - 1 - np.arange(depth)[None, :]
        recent[:, day, :] = np.where(index >= 0, same[np.maximum(index, 0)], np.nan)
    present = ~np.isnan(recent)
    sums = np.cumsum(np.where(present, recent, 0.0), axis=2)
    counts = np.cumsum(present, axis=2)
    open_rows = np.nonzero(open_days[weekday])[0]
    open_prefix = np.concatenate([[0.0], np.cumsum(totals[open_rows])])
    open_before = np.searchsorted(open_rows, ends)

    def mean_of_last(k: int) -> FloatArray:
        available = counts[:, :, k - 1]
        return np.where(available > 0, sums[:, :, k - 1] / np.maximum(available, 1), 0.0)

    def median_of_last(k: int) -> FloatArray:
        ordered = np.sort(recent[:, :, :k], axis=2)  # missing (NaN) values sort last
        available = counts[:, :, k - 1]
        low = np.take_along_axis(ordered, (np.maximum(available - 1, 0) // 2)[..., None], axis=2)[..., 0]
        high = np.take_along_axis(ordered, np.minimum(available // 2, k - 1)[..., None], axis=2)[..., 0]
        return np.where(available > 0, (low + np.where(available > 1, high, low)) / 2, 0.0)

    def open_mean(weeks: int) -> FloatArray:
        start = np.maximum(open_before - weeks * per_week, 0)
        count = open_before - start
        total = open_prefix[open_before] - open_prefix[start]
        return np.where(count > 0, total / np.maximum(count, 1), 0.0)

    names: list[str] = []
    tables: list[FloatArray] = []  # each (origins, 7)
    for k in SAME_WEEKDAY_MEANS:
        names.append(f"mean of last {k} same weekdays")
        tables.append(mean_of_last(k))
    for k in SAME_WEEKDAY_MEDIANS:
        names.append(f"median of last {k} same weekdays")
        tables.append(median_of_last(k))
    for f in FACTOR_WEEKS:
        overall = open_mean(f)[:, None]
        factors = np.where(overall > 0, mean_of_last(f) / np.where(overall > 0, overall, 1.0), 0.0)
        for k in LEVEL_WEEKS:
            names.append(f"level of last {k} weeks x weekday factors of {f} weeks")
            tables.append(open_mean(k)[:, None] * factors)
    return names, np.stack(tables, axis=1)


def statsforecast_totals(
    totals: FloatArray, weekday: IntArray, open_days: BoolArray, origin: int, horizon: int
) -> tuple[list[str], FloatArray]:
    """statsforecast's models on the open-day totals before `origin`: (models, horizon)."""
    past_weekday = weekday[:origin]
    open_past = totals[:origin][open_days[past_weekday]]
    future_open = open_days[future_weekdays(weekday, origin, horizon)]
    names, rows = _statsforecast_totals(open_past, max(int(open_days.sum()), 1), future_open)
    return names, np.vstack(rows)


def _statsforecast_totals(
    open_totals: FloatArray, per_week: int, future_open: BoolArray
) -> tuple[list[str], list[FloatArray]]:
    """AutoETS with the working week as its season and, with two years of history, MSTL with weekly and
    yearly seasons, each forecasting the open days ahead (closed days stay zero)."""
    from statsforecast.models import MSTL, AutoETS  # imported here: numba compiles it on first use

    steps = int(future_open.sum())
    models: list[tuple[str, object]] = [
        (f"AutoETS (season {per_week} open days) on daily totals", AutoETS(season_length=per_week))
    ]
    year = per_week * 52
    if open_totals.size >= 2 * year:
        models.append(
            (
                f"MSTL (seasons {per_week} and {year} open days) on daily totals",
                MSTL(season_length=[per_week, year]),
            )
        )
    names: list[str] = []
    rows: list[FloatArray] = []
    for name, model in models:
        row = np.zeros(future_open.size)
        if steps:
            with warnings.catch_warnings():  # short series make ETS warn about its variance estimate
                warnings.simplefilter("ignore", RuntimeWarning)
                forecast = model.forecast(y=open_totals, h=steps)["mean"]  # type: ignore[attr-defined]
            row[future_open] = np.maximum(np.asarray(forecast, dtype=np.float64), 0.0)
        names.append(name)
        rows.append(row)
    return names, rows


def profile_label(window: int) -> str:
    return "all weeks" if window == 0 else f"{window} weeks"


def profile_models(
    values: FloatArray,
    totals: FloatArray,
    weekday: IntArray,
    open_mask: BoolArray,
    origins: Sequence[int],
    profile_weeks: Sequence[int] = PROFILE_WEEKS,
) -> tuple[list[str], FloatArray]:
    """Intraday shares per weekday from each origin's recent history: (origins, profiles, 7, slots).

    A weekday profile uses that weekday's last weeks; a pooled one all weekdays with the same opening
    slots (more data, no weekday-specific shape). Smoothed variants suit fine intervals. Each sums to 1.
    """
    ends = np.asarray(origins, dtype=np.int64)
    dense = np.nan_to_num(values)
    windows = len(profile_weeks)
    sums = np.zeros((ends.size, windows, 7, values.shape[1]))
    day_sums = np.zeros((ends.size, windows, 7))
    weeks = np.asarray(profile_weeks, dtype=np.int64)
    for day in np.nonzero(open_mask.any(axis=1))[0]:
        rows = np.nonzero(weekday == day)[0]
        prefix = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(dense[rows], axis=0)])
        prefix_total = np.concatenate([[0.0], np.cumsum(totals[rows])])
        before = np.searchsorted(rows, ends)[:, None]
        start = np.where(weeks[None, :] > 0, np.maximum(before - weeks[None, :], 0), 0)
        sums[:, :, day] = prefix[before] - prefix[start]
        day_sums[:, :, day] = prefix_total[before] - prefix_total[start]
    open_days = np.asarray(open_mask.any(axis=1), dtype=np.bool_)
    same_shape = (open_mask[:, None, :] == open_mask[None, :, :]).all(axis=2) & open_days[None, :]
    group = same_shape.astype(np.float64)
    pooled_sums = np.einsum("de,owes->owds", group, sums)
    pooled_day_sums = day_sums @ group.T
    names: list[str] = []
    shares: list[FloatArray] = []
    for kind, volume, total in (("weekday", sums, day_sums), ("pooled", pooled_sums, pooled_day_sums)):
        raw = _shares(volume, total, open_mask)
        smoothed = _smooth(raw, open_mask)
        for index, window in enumerate(profile_weeks):
            label = profile_label(window)
            names.append(f"{kind} profile of {label}")
            shares.append(raw[:, index])
            if window != 1:
                names.append(f"{kind} profile of {label}, smoothed")
                shares.append(smoothed[:, index])
    return names, np.stack(shares, axis=1)


def _shares(volume: FloatArray, total: FloatArray, open_mask: BoolArray) -> FloatArray:
    """Volume over the day total; a flat profile over the open slots where there was no volume."""
    flat = open_mask / np.maximum(open_mask.sum(axis=1, keepdims=True), 1)
    positive = total[..., None] > 0
    return np.where(positive, volume / np.where(positive, total[..., None], 1.0), flat)


def _smooth(profile: FloatArray, open_mask: BoolArray) -> FloatArray:
    """A 1-2-1 moving average along the day that never moves volume into closed slots."""
    weight = open_mask.astype(np.float64)
    masked = profile * weight
    num = 2 * masked
    num[..., 1:] += masked[..., :-1]
    num[..., :-1] += masked[..., 1:]
    den = 2 * weight
    den[..., 1:] += weight[..., :-1]
    den[..., :-1] += weight[..., 1:]
    smoothed = np.where(open_mask & (den > 0), num / np.where(den > 0, den, 1.0), 0.0)
    sums = smoothed.sum(axis=-1, keepdims=True)
    base = profile.sum(axis=-1, keepdims=True)
    return np.where(sums > 0, smoothed / np.where(sums > 0, sums, 1.0) * base, 0.0)
