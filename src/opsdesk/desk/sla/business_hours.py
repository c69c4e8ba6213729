"""Business-hours calendars as pure functions of UTC instants.

A schedule is a time zone, wall-clock intervals per weekday and holiday dates (closed all day), or 24x7.
An instant is open when its local wall-clock time lies inside one of its weekday's intervals on a day
that is not a holiday. Defining "open" by the wall clock keeps every function exact across daylight
saving: on the spring-forward day 08:00-17:00 in America/Chicago lasts 9 real hours, 01:00-03:00 that
night lasts 1 hour (02:00-02:59 never happens), and on the fall-back night 01:00-03:00 lasts 3 hours
(01:00-01:59 happens twice).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsdesk.core.errors import ValidationFailed

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# UTC offsets lie within +-14 h; a margin past that covers every instant a local day can map to.
_OFFSET_MARGIN = timedelta(hours=15)
_ONE_SECOND = timedelta(seconds=1)

Span = tuple[datetime, datetime]


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` to ``end`` (minutes after local midnight, end up to 24:00) on ``weekday``
    (Monday = 0)."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    intervals: tuple[Interval, ...] = ()
    holidays: frozenset[date] = field(default_factory=frozenset)
    always_open: bool = False

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if not self.always_open and not self.intervals:
            raise ValidationFailed("a schedule needs at least one interval, or 24x7", field="intervals")
        ordered = sorted(self.intervals)
        for i, interval in enumerate(ordered):
            if not 0 <= interval.weekday <= 6:
                raise ValidationFailed("weekday must be 0 (Monday) to 6 (Sunday)", field="intervals")
            if not 0 <= interval.start < interval.end <= MINUTES_PER_DAY:
                raise ValidationFailed(
                    f"interval {_describe(interval)} must start before it ends, within one day",
                    field="intervals",
                )
            if i and ordered[i - 1].weekday == interval.weekday and ordered[i - 1].end > interval.start:
                raise ValidationFailed(
                    f"intervals {_describe(ordered[i - 1])} and {_describe(interval)} overlap",
                    field="intervals",
                )
        object.__setattr__(self, "intervals", tuple(ordered))

    @classmethod
    def from_spec(
        cls,
        *,
        timezone: str,
        intervals: Iterable[Mapping[str, Any]] = (),
        holidays: Iterable[str | date] = (),
        always_open: bool = False,
    ) -> BusinessHours:
        """Build from the stored shape ({"weekday", "start": "HH:MM", "end": "HH:MM"}, ISO dates)."""
        parsed = []
        for i, raw in enumerate(intervals):
            where = f"intervals[{i}]"
            weekday = raw.get("weekday")
            if isinstance(weekday, str) and weekday.lower() in WEEKDAYS:
                weekday = WEEKDAYS.index(weekday.lower())
            if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
                raise ValidationFailed("weekday must be 0 (Monday) to 6 (Sunday)", field=f"{where}.weekday")
            parsed.append(
                Interval(
                    weekday,
                    parse_wall_time(raw.get("start"), field=f"{where}.start"),
                    parse_wall_time(raw.get("end"), field=f"{where}.end"),
                )
            )
        days = []
        for i, raw_day in enumerate(holidays):
            if isinstance(raw_day, date):
                days.append(raw_day)
                continue
            try:
                days.append(date.fromisoformat(raw_day))
            except (TypeError, ValueError):
                raise ValidationFailed(
                    f"holiday {raw_day!r} is not a YYYY-MM-DD date", field=f"holidays[{i}]"
                ) from None
        return cls(timezone, tuple(parsed), frozenset(days), always_open)

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        return any(a <= at < b for a, b in _spans_on(self, _local_date(self, at)))

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); zero when end is not after start."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        for a, b in self._spans_between(start, end):
            total += min(b, end) - max(a, start)
        return total

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant by which ``amount`` of open time has passed since ``start``."""
        if amount < timedelta(0):
            raise ValueError("business time to add must not be negative")
        if self.always_open or not amount:
            return start + amount
        remaining = amount
        for a, b in self._spans_from(start):
            a = max(a, start)
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable: _spans_from never ends")

    def open_spans(self, start: datetime, end: datetime) -> list[Span]:
        """The open UTC spans within [start, end), in order: what a reader measuring many durations at
        once (the KPI engine) accumulates instead of calling :meth:`business_time` per duration."""
        if end <= start:
            return []
        if self.always_open:
            return [(start, end)]
        return [(max(a, start), min(b, end)) for a, b in self._spans_between(start, end)]

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the next instant the schedule opens."""
        if self.always_open or self.is_open(at):
            return at
        return next(a for a, _b in self._spans_from(at))

    def _spans_between(self, start: datetime, end: datetime) -> Iterator[Span]:
        day, last = _local_date(self, start), _local_date(self, end)
        while day <= last:
            for a, b in _spans_on(self, day):
                if b > start and a < end:
                    yield a, b
            day += timedelta(days=1)

    def _spans_from(self, start: datetime) -> Iterator[Span]:
        """Open spans ending after ``start``, for ever. Weekly intervals recur and holidays are finite,
        so a run of closed days longer than the holidays plus two weeks means the hours never open
        (every interval falls into a daylight-saving gap)."""
        day = _local_date(self, start)
        closed_run = 0
        while True:
            spans = [(a, b) for a, b in _spans_on(self, day) if b > start]
            closed_run = 0 if spans else closed_run + 1
            if closed_run > len(self.holidays) + 14:
                raise ValidationFailed("these business hours never open", field="intervals")
            yield from spans
            day += timedelta(days=1)


def parse_wall_time(raw: object, *, field: str) -> int:
    """ "HH:MM" (00:00 to 24:00) as minutes after midnight."""
    if isinstance(raw, str) and len(raw) == 5 and raw[2] == ":" and raw[:2].isdigit() and raw[3:].isdigit():
        hours, minutes = int(raw[:2]), int(raw[3:])
        if minutes < 60 and hours * 60 + minutes <= MINUTES_PER_DAY:
            return hours * 60 + minutes
    raise ValidationFailed(f"{raw!r} is not a time of day as HH:MM (00:00 to 24:00)", field=field)


def format_wall_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe(interval: Interval) -> str:
    hours = f"{format_wall_time(interval.start)}-{format_wall_time(interval.end)}"
    return f"{WEEKDAYS[interval.weekday % 7]} {hours}"


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {name!r}", field="timezone") from None


def _local_date(hours: BusinessHours, at: datetime) -> date:
    return at.astimezone(_zone(hours.timezone)).date()


@functools.lru_cache(maxsize=4096)
def _spans_on(hours: BusinessHours, day: date) -> tuple[Span, ...]:
    """The open UTC spans of one local day, sorted and merged (adjacent intervals join up)."""
    if day in hours.holidays:
        return ()
    zone = _zone(hours.timezone)
    midnight = datetime(day.year, day.month, day.day)
    spans: list[Span] = []
    for interval in hours.intervals:
        if interval.weekday != day.weekday():
            continue
        wall_start = midnight + timedelta(minutes=interval.start)
        wall_end = midnight + timedelta(minutes=interval.end)
        for a, b in _instants_with_wall_time_in(zone, wall_start, wall_end):
            if spans and spans[-1][1] >= a:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            else:
                spans.append((a, b))
    return tuple(spans)


def _instants_with_wall_time_in(zone: tzinfo, wall_start: datetime, wall_end: datetime) -> list[Span]:
    """UTC spans of the instants whose local wall time lies in [wall_start, wall_end) (naive datetimes).

    Within a stretch of constant UTC offset wall time is UTC plus the offset, so the answer is exact per
    stretch; a daylight-saving gap simply has no instants and an overlap contributes twice."""
    lo = wall_start.replace(tzinfo=UTC) - _OFFSET_MARGIN
    hi = wall_end.replace(tzinfo=UTC) + _OFFSET_MARGIN
    spans: list[Span] = []
    for a, b, offset in _constant_offset_stretches(zone, lo, hi):
        start = max(a, wall_start.replace(tzinfo=UTC) - offset)
        end = min(b, wall_end.replace(tzinfo=UTC) - offset)
        if start < end:
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def _offset(zone: tzinfo, at: datetime) -> timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _constant_offset_stretches(
    zone: tzinfo, lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime, timedelta]]:
    """Split [lo, hi) where the zone's offset changes. The window spans about two days, and no zone
    changes its offset twice within that, so equal offsets at both ends mean no change between them.
    Transitions fall on whole seconds; bisection over whole seconds finds them exactly."""
    first, last = _offset(zone, lo), _offset(zone, hi)
    if first == last:
        return [(lo, hi, first)]
    before, after = lo, hi
    while after - before > _ONE_SECOND:
        middle = before + timedelta(seconds=(after - before) // _ONE_SECOND // 2)
        if _offset(zone, middle) == first:
            before = middle
        else:
            after = middle
    return [(lo, after, first), *_constant_offset_stretches(zone, after, hi)]


TWENTY_FOUR_SEVEN = BusinessHours(always_open=True)
