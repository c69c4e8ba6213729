"""Candidate models: daily total forecasts and intraday profiles, combined by `selection`.

Contact-centre volume is well described by how many contacts a day brings and how that day spreads
over its slots; the spread is stable and can be averaged over many weeks (which removes most of the
slot-level noise), while the daily total carries the level and the weekday effect. A forecast is one
daily-total model x one profile model; the weekly seasonal naive is "same weekday last week" x "that
weekday's profile of 1 week". All of it is numpy on a (days, slots) grid so that rolling-origin
selection costs milliseconds.
"""

from __future__ import annotations

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
    totals: FloatArray, weekday: NDArray[np.int64], open_days: BoolArray, origin: int, horizon: int
) -> tuple[list[str], FloatArray]:
    """Daily totals for the `horizon` days after `origin` by each total model."""
    future = future_weekdays(weekday, origin, horizon)
    past_weekday = weekday[:origin]
    past = totals[:origin]
    names: list[str] = []
    rows: list[FloatArray] = []
    by_day = {day: past[past_weekday == day] for day in range(7)}
    open_past = past[open_days[past_weekday]]
    per_week = max(int(open_days.sum()), 1)

    def same_weekday(reduce: str, k: int) -> FloatArray:
        out = np.zeros(horizon)
        for j, day in enumerate(future):
            if open_days[day] and by_day[day].size:
                recent = by_day[day][-k:]
                out[j] = recent.mean() if reduce == "mean" else np.median(recent)
        return out

    for k in SAME_WEEKDAY_MEANS:
        names.append(f"mean of last {k} same weekdays")
        rows.append(same_weekday("mean", k))
    for k in SAME_WEEKDAY_MEDIANS:
        names.append(f"median of last {k} same weekdays")
        rows.append(same_weekday("median", k))
    for f in FACTOR_WEEKS:
        window = open_past[-f * per_week :]
        overall = window.mean() if window.size else 0.0
        factors = np.zeros(7)
        for day in range(7):
            recent = by_day[day][-f:]
            if open_days[day] and recent.size and overall > 0:
                factors[day] = recent.mean() / overall
        for k in LEVEL_WEEKS:
            level = open_past[-k * per_week :].mean() if open_past.size else 0.0
            names.append(f"level of last {k} weeks x weekday factors of {f} weeks")
            rows.append(level * factors[future])
    return names, np.vstack(rows)


def profiles(
    values: FloatArray, totals: FloatArray, weekday: NDArray[np.int64], open_mask: BoolArray, origin: int
) -> tuple[list[str], FloatArray]:
    """Intraday shares (profiles, 7, slots) per weekday from recent history, each summing to 1."""
    past = np.nan_to_num(values[:origin])
    past_total = totals[:origin]
    past_weekday = weekday[:origin]
    names: list[str] = []
    shares: list[FloatArray] = []
    same_shape = np.array([[np.array_equal(open_mask[a], open_mask[b]) for b in range(7)] for a in range(7)])
    for weeks in PROFILE_WEEKS:
        label = "all weeks" if weeks == 0 else f"{weeks} weeks"
        own = np.zeros_like(open_mask, dtype=np.float64)
        pooled = np.zeros_like(own)
        for day in range(7):
            if not open_mask[day].any():
                continue
            rows = np.nonzero(past_weekday == day)[0]
            rows = rows[-weeks:] if weeks else rows
            own[day] = _shares(past[rows].sum(axis=0), past_total[rows].sum(), open_mask[day])
            group = np.nonzero(same_shape[day][past_weekday])[0]
            group = group[group >= origin - 7 * weeks] if weeks else group
            pooled[day] = _shares(past[group].sum(axis=0), past_total[group].sum(), open_mask[day])
        for kind, profile in (("weekday", own), ("pooled", pooled)):
            names.append(f"{kind} profile of {label}")
            shares.append(profile)
            if weeks != 1:
                names.append(f"{kind} profile of {label}, smoothed")
                shares.append(_smooth(profile, open_mask))
    return names, np.stack(shares)


def _shares(volume: FloatArray, total: float, open_slots: BoolArray) -> FloatArray:
    if total > 0:
        return volume / total
    return open_slots / max(int(open_slots.sum()), 1)


def _smooth(profile: FloatArray, open_mask: BoolArray) -> FloatArray:
    """A 1-2-1 moving average along the day that never moves volume into closed slots."""
    padded = np.pad(profile * open_mask, ((0, 0), (1, 1)))
    weights = np.pad(open_mask.astype(np.float64), ((0, 0), (1, 1)))
    num = padded[:, :-2] + 2 * padded[:, 1:-1] + padded[:, 2:]
    den = weights[:, :-2] + 2 * weights[:, 1:-1] + weights[:, 2:]
    smoothed = np.where(open_mask & (den > 0), num / np.where(den > 0, den, 1), 0.0)
    sums = smoothed.sum(axis=1, keepdims=True)
    base = profile.sum(axis=1, keepdims=True)
    return np.where(sums > 0, smoothed / np.where(sums > 0, sums, 1) * base, 0.0)
