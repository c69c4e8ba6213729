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

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SAME_WEEKDAY_MEANS = (1, 2, 3, 4, 6, 8)
SAME_WEEKDAY_MEDIANS = (3, 5)
LEVEL_WEEKS = (1, 2, 4)
FACTOR_WEEKS = (4, 12)
PROFILE_WEEKS = (1, 2, 4, 8, 16, 0)  # 0: the whole history


def day_totals(values: FloatArray) -> FloatArray:
    return np.nansum(values, axis=1)


def future_weekdays(weekday: NDArray[np.int64], origin: int, horizon: int) -> NDArray[np.int64]:
    return np.asarray((weekday[origin - 1] + 1 + np.arange(horizon)) % 7, dtype=np.int64)


def total_forecasts(
    totals: FloatArray,
    weekday: NDArray[np.int64],
    open_days: BoolArray,
    origin: int,
    horizon: int,
    thorough: bool = False,
) -> tuple[list[str], FloatArray]:
    """Daily totals for the `horizon` days after `origin` by each total model (plus, when `thorough`,
    statsforecast's models on the series of open-day totals)."""
    future = future_weekdays(weekday, origin, horizon)
    past_weekday = weekday[:origin]
    past = totals[:origin]
    by_day = [past[past_weekday == day] if open_days[day] else past[:0] for day in range(7)]
    open_past = past[open_days[past_weekday]]
    per_week = max(int(open_days.sum()), 1)
    names: list[str] = []
    per_weekday: list[FloatArray] = []  # each model's forecast for each weekday (7,)
    for k in SAME_WEEKDAY_MEANS:
        names.append(f"mean of last {k} same weekdays")
        per_weekday.append(np.array([recent[-k:].mean() if recent.size else 0.0 for recent in by_day]))
    for k in SAME_WEEKDAY_MEDIANS:
        names.append(f"median of last {k} same weekdays")
        per_weekday.append(np.array([np.median(recent[-k:]) if recent.size else 0.0 for recent in by_day]))
    for f in FACTOR_WEEKS:
        window = open_past[-f * per_week :]
        overall = window.mean() if window.size else 0.0
        factors = np.array(
            [recent[-f:].mean() / overall if recent.size and overall > 0 else 0.0 for recent in by_day]
        )
        for k in LEVEL_WEEKS:
            level = open_past[-k * per_week :].mean() if open_past.size else 0.0
            names.append(f"level of last {k} weeks x weekday factors of {f} weeks")
            per_weekday.append(level * factors)
    rows = np.vstack(per_weekday)[:, future]
    if thorough:
        extra_names, extra_rows = _statsforecast_totals(open_past, per_week, open_days[future])
        return names + extra_names, np.vstack([rows, *extra_rows])
    return names, rows


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


def profiles(
    values: FloatArray, totals: FloatArray, weekday: NDArray[np.int64], open_mask: BoolArray, origin: int
) -> tuple[list[str], FloatArray]:
    """Intraday shares (profiles, 7, slots) per weekday from recent history, each summing to 1.

    A weekday profile uses that weekday's last weeks; a pooled one all weekdays with the same opening
    slots (more data, no weekday-specific shape). Smoothed variants suit fine intervals.
    """
    past = np.nan_to_num(values[:origin])
    past_total = totals[:origin]
    past_weekday = weekday[:origin]
    windows = len(PROFILE_WEEKS)
    sums = np.zeros((windows, 7, values.shape[1]))
    day_sums = np.zeros((windows, 7))
    for day in range(7):
        rows = past_weekday == day
        count = int(rows.sum())
        if not open_mask[day].any() or count == 0:
            continue
        cumulative = np.cumsum(past[rows][::-1], axis=0)
        cumulative_total = np.cumsum(past_total[rows][::-1])
        for index, weeks in enumerate(PROFILE_WEEKS):
            last = (min(weeks, count) if weeks else count) - 1
            sums[index, day] = cumulative[last]
            day_sums[index, day] = cumulative_total[last]
    open_days = np.asarray(open_mask.any(axis=1), dtype=np.bool_)
    same_shape = (open_mask[:, None, :] == open_mask[None, :, :]).all(axis=2) & open_days[None, :]
    group = same_shape.astype(np.float64)
    pooled_sums = np.einsum("de,wes->wds", group, sums)
    pooled_day_sums = day_sums @ group.T
    names: list[str] = []
    shares: list[FloatArray] = []
    for kind, volume, total in (("weekday", sums, day_sums), ("pooled", pooled_sums, pooled_day_sums)):
        raw = _shares(volume, total, open_mask)
        smoothed = _smooth(raw, open_mask)
        for index, weeks in enumerate(PROFILE_WEEKS):
            label = "all weeks" if weeks == 0 else f"{weeks} weeks"
            names.append(f"{kind} profile of {label}")
            shares.append(raw[index])
            if weeks != 1:
                names.append(f"{kind} profile of {label}, smoothed")
                shares.append(smoothed[index])
    return names, np.stack(shares)


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
    den[:, 1:] += weight[:, :-1]
    den[:, :-1] += weight[:, 1:]
    smoothed = np.where(open_mask & (den > 0), num / np.where(den > 0, den, 1.0), 0.0)
    sums = smoothed.sum(axis=-1, keepdims=True)
    base = profile.sum(axis=-1, keepdims=True)
    return np.where(sums > 0, smoothed / np.where(sums > 0, sums, 1.0) * base, 0.0)
