"""The intraday re-forecast rule: pure, no database.

Every 15 minutes the rest of the day is re-forecast from what has arrived: the intervals from the one now
falls in onwards are the original forecast times

    ratio = (arrived + PRIOR) / (forecast + PRIOR)

over the last WINDOW complete intervals (four hours). The window is recent rather than the whole day so
far, because a follow-the-sun desk's morning says little about its evening, and it is the same for every
viewer whatever their zone. The prior of ten contacts on both sides keeps a quiet window (3 arrived
against 1 forecast at night) from tripling the day: the ratio moves only as far as the counts bear out.
Intervals before now keep what actually arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WINDOW = 16
PRIOR = 10.0


@dataclass(frozen=True)
class Reforecast:
    ratio: float
    window_actual: float
    window_forecast: float
    values: list[float]
    """Per interval: the actual count before `current`, the scaled forecast from it on."""


def ratio(arrived: float, forecast: float) -> float:
    return (arrived + PRIOR) / (forecast + PRIOR)


def reforecast(
    forecast: Sequence[float], actual: Sequence[float], current: int, *, window: int = WINDOW
) -> Reforecast:
    """Re-forecast a day's intervals; ``current`` is the index of the interval now falls in (intervals
    before it are complete, so their ``actual`` is final). ``actual`` needs values up to ``current``."""
    if not 0 <= current <= len(forecast):
        raise ValueError(f"current interval {current} is outside the {len(forecast)} intervals")
    first = max(0, current - window)
    arrived = float(sum(actual[first:current]))
    expected = float(sum(forecast[first:current]))
    scale = ratio(arrived, expected)
    values = [float(actual[i]) for i in range(current)]
    values += [float(forecast[i]) * scale for i in range(current, len(forecast))]
    return Reforecast(ratio=scale, window_actual=arrived, window_forecast=expected, values=values)
