"""Shift templates made concrete: every shift a site may work inside the planning horizon.

The horizon is the requirement's UTC grid. Start windows are read on the site's wall clock for each local
date and converted with zoneinfo, so an 08:00 start stays 08:00 local across a daylight-saving change and
a shift's length is elapsed time. A week-long horizon is treated as a repeating week: a night shift that
runs past the horizon's end covers the same hours at its start (next week's identical schedule), and the
rest, consecutive-day and days-off rules wrap from the last day to the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from opsdesk.workforce.sites import MINUTES_PER_DAY, Site

WEEK = timedelta(days=7)
WEEK_MINUTES = 7 * MINUTES_PER_DAY


@dataclass(frozen=True)
class Horizon:
    """The requirement's grid: `periods` intervals of `interval` from `start` (aware)."""

    start: datetime
    interval: timedelta
    periods: int

    @property
    def end(self) -> datetime:
        return self.start + self.periods * self.interval

    @property
    def cyclic(self) -> bool:
        return self.periods * self.interval == WEEK

    @property
    def interval_minutes(self) -> int:
        return int(self.interval.total_seconds() // 60)

    def at(self, period: int) -> datetime:
        return self.start + period * self.interval

    def covered(self, first: int, count: int) -> list[int]:
        """Periods a run of `count` intervals from `first` covers (wrapped in a cyclic week)."""
        if self.cyclic:
            return [(first + i) % self.periods for i in range(count)]
        return [p for p in range(first, first + count) if p < self.periods]


@dataclass(frozen=True)
class ShiftCandidate:
    """One shift a schedule line may take: a start, a length and the places its break may go."""

    day: int  # schedule day: the local date whose start window it belongs to
    first_period: int  # index of its first interval in the horizon
    periods: int  # intervals it spans, break included
    start: datetime  # aware UTC
    length: timedelta
    start_minute: int  # minutes since the first schedule day's local midnight, for the rest rule
    work_minutes: int  # length less the (unpaid) break, counted against the weekly hours cap
    break_offsets: tuple[int, ...]  # possible break starts, in intervals after the shift start
    break_periods: int


@dataclass(frozen=True)
class SiteCalendar:
    """The candidates of one site and how its schedule days are numbered."""

    candidates: list[ShiftCandidate]
    days: int


def _local_start(day: date, minute: int, site: Site) -> datetime | None:
    """The aware instant of a wall-clock start, or None if the time does not exist that day (DST gap)."""
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    aware = wall.replace(tzinfo=site.zone)
    if aware.astimezone(UTC).astimezone(site.zone).replace(tzinfo=None) != wall:
        return None
    return aware.astimezone(UTC)


def site_calendar(site: Site, horizon: Horizon) -> SiteCalendar:
    """Every shift of the site's templates that starts inside the horizon and lies inside opening hours."""
    step = horizon.interval_minutes
    open_mask = [site.is_open(horizon.at(p)) for p in range(horizon.periods)]
    first_date = horizon.start.astimezone(site.zone).date()
    last_date = (horizon.end - timedelta(seconds=1)).astimezone(site.zone).date()
    midnight = _local_start(first_date, 0, site) or horizon.start
    template = site.shifts
    break_periods = math.ceil(template.break_minutes / step) if template.break_minutes else 0
    offsets: tuple[int, ...] = ()
    if break_periods:
        earliest = math.ceil(template.break_earliest_after_hours * 60 / step)
        latest = math.floor(template.break_latest_after_hours * 60 / step)
        offsets = tuple(range(earliest, latest + 1))
    raw: list[tuple[int, ShiftCandidate]] = []
    day = first_date - timedelta(days=1)  # a window past midnight may start the horizon
    while day <= last_date:
        index = (day - first_date).days
        for window_start, window_end in template.start_windows:
            for minute in range(window_start, window_end + 1, step):
                start = _local_start(day, minute, site)
                if start is None or not horizon.start <= start < horizon.end:
                    continue
                first, rest = divmod(
                    (start - horizon.start).total_seconds(), horizon.interval.total_seconds()
                )
                if rest:
                    continue
                for hours in template.lengths_hours:
                    length = timedelta(hours=hours)
                    periods = math.ceil(length / horizon.interval)
                    if not all(open_mask[p] for p in horizon.covered(int(first), periods)):
                        continue
                    if any(o + break_periods > periods for o in offsets):
                        continue
                    start_minute = int((start - midnight).total_seconds() // 60)
                    if horizon.cyclic:
                        start_minute -= WEEK_MINUTES * (index // 7)
                    candidate = ShiftCandidate(
                        day=index,
                        first_period=int(first),
                        periods=periods,
                        start=start,
                        length=length,
                        start_minute=start_minute,
                        work_minutes=int(hours * 60) - template.break_minutes,
                        break_offsets=offsets,
                        break_periods=break_periods,
                    )
                    raw.append((index, candidate))
        day += timedelta(days=1)
    if not raw:
        return SiteCalendar(candidates=[], days=0)
    if horizon.cyclic:
        candidates = [_with_day(c, index % 7) for index, c in raw]
        return SiteCalendar(candidates=candidates, days=7)
    lowest = min(index for index, _ in raw)
    candidates = [_with_day(c, index - lowest) for index, c in raw]
    return SiteCalendar(candidates=candidates, days=max(c.day for c in candidates) + 1)


def _with_day(candidate: ShiftCandidate, day: int) -> ShiftCandidate:
    return ShiftCandidate(**{**candidate.__dict__, "day": day})
