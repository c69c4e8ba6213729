"""Link 2: contacts per covered life by channel, and when in the week they arrive, fitted from history.

The rate is the desk's contacts over the last `fit_weeks` complete weeks divided by the covered lives in
force now (workforce reads the desk only through its event log, which knows the channel but not the
customer, so the rate is per life of the whole book). The weekly profile is each interval-of-week's
share of a week's contacts on the UTC clock, averaged over the same weeks; it carries the
follow-the-sun shape into every month of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEK = pd.Timedelta(days=7)
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class ChannelFit:
    weekly_contacts: float  # mean contacts per week over the fitted weeks
    per_life_week: float  # contacts per covered life per week
    profile: np.ndarray  # share of a week's contacts per UTC interval-of-week (sums to 1)


def week_position(stamps: pd.DatetimeIndex, interval_minutes: int) -> np.ndarray:
    """Interval-of-week (0 = Monday 00:00 UTC) of each aware timestamp."""
    utc = stamps.tz_convert("UTC")
    minutes = utc.dayofweek.to_numpy() * 1440 + utc.hour.to_numpy() * 60 + utc.minute.to_numpy()
    return np.asarray(minutes // interval_minutes, dtype=np.int64)


def fit_channel(
    history: pd.Series, *, end: pd.Timestamp, weeks: int, interval_minutes: int, lives: float
) -> ChannelFit | None:
    """The fit from `history` (aware UTC interval starts -> contacts) over the `weeks` weeks before `end`;
    None when the window holds no contact at all."""
    per_week = 7 * 24 * 60 // interval_minutes
    start = end - weeks * WEEK
    window = history[(history.index >= start) & (history.index < end)]
    total = float(window.sum())
    if total <= 0 or lives <= 0:
        return None
    profile = np.bincount(
        week_position(pd.DatetimeIndex(window.index), interval_minutes),
        weights=window.to_numpy(dtype=np.float64),
        minlength=per_week,
    )
    weekly = total / weeks
    return ChannelFit(weekly_contacts=weekly, per_life_week=weekly / lives, profile=profile / total)


def describe(fit: ChannelFit) -> dict[str, float]:
    return {
        "weekly_contacts": round(fit.weekly_contacts, 1),
        "per_life_week": round(fit.per_life_week, 6),
        "per_1000_lives_month": round(fit.per_life_week * 1000 * DAYS_PER_MONTH / 7, 2),
    }
