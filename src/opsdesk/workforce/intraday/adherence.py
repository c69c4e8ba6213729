"""Real-time adherence and agents per interval, from spans of time: pure, no database.

An agent's scheduled activity at an instant is "on shift" inside a published work shift and outside
approved time off (time off wins, as routing's ``on_shift`` has it), else "off shift". On shift the
scheduled activity is being online. Adherence (DESIGN.md) = minutes in the scheduled activity / scheduled
minutes, where the scheduled minutes are the on-shift minutes: away or offline on shift is out of
adherence. Online off shift is working outside the schedule: counted out of adherence too, shown on its
own, but outside the ratio, whose denominator is the schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Span = tuple[datetime, datetime]
ONLINE = "online"


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same instants (touching spans are joined)."""
    merged: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(spans: Sequence[Span], removed: Sequence[Span]) -> list[Span]:
    """The instants of ``spans`` outside ``removed`` (both sorted and disjoint)."""
    out: list[Span] = []
    for start, end in spans:
        cursor = start
        for cut_start, cut_end in removed:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(spans: Sequence[Span], start: datetime, end: datetime) -> list[Span]:
    return [(max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start)]


def on_shift_spans(shifts: Iterable[Span], absences: Iterable[Span]) -> list[Span]:
    """When the agent is scheduled to work: their work shifts less their approved time off."""
    return subtract(union(shifts), union(absences))


def online_spans(
    initial: str, changes: Sequence[tuple[datetime, str]], start: datetime, end: datetime
) -> list[Span]:
    """When the agent was online in [start, end): ``initial`` is the status in force at ``start`` (the
    last change before it; offline when there was none), ``changes`` the later ones in time order."""
    spans: list[Span] = []
    status, since = initial, start
    for at, to in changes:
        at = min(max(at, start), end)
        if status == ONLINE and at > since:
            spans.append((since, at))
        status, since = to, at
    if status == ONLINE and end > since:
        spans.append((since, end))
    return union(spans)


def seconds(spans: Iterable[Span]) -> float:
    return sum((end - start).total_seconds() for start, end in spans)


def overlap_seconds(first: Sequence[Span], second: Sequence[Span]) -> float:
    """Seconds in both (each sorted and disjoint)."""
    total, i, j = 0.0, 0, 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if end > start:
            total += (end - start).total_seconds()
        if first[i][1] <= second[j][1]:
            i += 1
        else:
            j += 1
    return total


@dataclass(frozen=True)
class Adherence:
    """One agent's minutes over a period (usually today up to now)."""

    scheduled_minutes: float
    adherent_minutes: float  # on shift and online
    missed_minutes: float  # on shift, away or offline
    unscheduled_online_minutes: float  # online off shift

    @property
    def out_of_adherence_minutes(self) -> float:
        return self.missed_minutes + self.unscheduled_online_minutes

    @property
    def adherence(self) -> float | None:
        """Minutes in the scheduled activity / scheduled minutes; None with nothing scheduled yet."""
        return self.adherent_minutes / self.scheduled_minutes if self.scheduled_minutes else None


def adherence(on_shift: Sequence[Span], online: Sequence[Span], start: datetime, end: datetime) -> Adherence:
    """Adherence over [start, end) from the agent's on-shift and online spans (sorted, disjoint)."""
    shift = clip(on_shift, start, end)
    present = clip(online, start, end)
    scheduled = seconds(shift)
    adherent = overlap_seconds(shift, present)
    return Adherence(
        scheduled_minutes=scheduled / 60,
        adherent_minutes=adherent / 60,
        missed_minutes=(scheduled - adherent) / 60,
        unscheduled_online_minutes=(seconds(present) - adherent) / 60,
    )


def agents_per_interval(
    spans_per_agent: Iterable[Sequence[Span]],
    starts: Sequence[datetime],
    length: timedelta,
    *,
    until: datetime | None = None,
) -> list[float | None]:
    """Average agents inside their spans over each interval (agent-seconds / interval seconds), so an
    agent on for half an interval counts one half. With ``until`` (now), an interval counts only up to
    it, and one starting at or after it has no value (None): presence of the future is unknown."""
    agents = [list(spans) for spans in spans_per_agent]
    out: list[float | None] = []
    for start in starts:
        end = start + length if until is None else min(start + length, until)
        if end <= start:
            out.append(None)
            continue
        window = [(start, end)]
        total = sum(overlap_seconds(spans, window) for spans in agents)
        out.append(total / (end - start).total_seconds())
    return out
