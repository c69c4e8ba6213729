"""Holidays and special days: dates the normal weekly pattern does not describe.

A closed day forecasts zero. A special day (a sale, the day after a holiday) keeps the normal forecast
scaled slot by slot by its own profile: the ratio of what was observed on past special days to what the
normal pattern would have given there (the gap fill), so one special day in history is enough to learn
it. Without any special day in history the profile is 1 (the normal forecast).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from opsdesk.core.errors import ValidationFailed


class DayKind(enum.StrEnum):
    CLOSED = "closed"
    SPECIAL = "special"


def parse_special_days(closed: list[str], special: list[str]) -> dict[date, DayKind]:
    days: dict[date, DayKind] = {}
    options = (("--closed", closed, DayKind.CLOSED), ("--special", special, DayKind.SPECIAL))
    for option, texts, kind in options:
        for text in texts:
            try:
                days[date.fromisoformat(text.strip())] = kind
            except ValueError:
                raise ValidationFailed(f"{text!r} is not a date (YYYY-MM-DD)", field=option) from None
    return days


def special_profile(
    observed: Mapping[int, NDArray[np.float64]],
    normal: NDArray[np.float64],
    kinds: Mapping[int, DayKind],
) -> NDArray[np.float64]:
    """Per-slot multiplier learned from past special days (`normal` holds the gap-filled grid)."""
    slots = normal.shape[1]
    actual = np.zeros(slots)
    expected = np.zeros(slots)
    for row, kind in kinds.items():
        if kind is not DayKind.SPECIAL:
            continue
        seen = ~np.isnan(observed[row]) & ~np.isnan(normal[row])
        actual[seen] += observed[row][seen]
        expected[seen] += normal[row][seen]
    profile = np.ones(slots)
    known = expected > 0
    profile[known] = actual[known] / expected[known]
    return profile


def apply_special_days(
    point: NDArray[np.float64],
    first_day: date,
    special_days: Mapping[date, DayKind],
    profile: NDArray[np.float64],
) -> NDArray[np.float64]:
    """A copy of a (days, slots) forecast with closed days zeroed and special days reshaped."""
    result = point.copy()
    for row in range(point.shape[0]):
        kind = special_days.get(first_day + timedelta(days=row))
        if kind is DayKind.CLOSED:
            result[row] = 0.0
        elif kind is DayKind.SPECIAL:
            result[row] = point[row] * profile
    return result
