"""SLA clocks as pure functions of a ticket's event log, a policy's targets and a calendar.

Semantics follow Zendesk's, so imported history and live tickets agree:
- first reply: created -> the first public agent reply (system and bot replies do not count). When an
  agent opened the ticket with a public comment, that comment is not a reply: the clock stops at the
  agent's next public comment.
- next reply: after the first reply, the oldest unanswered public requester message -> the next public
  agent reply; each such exchange is its own target.
- resolution: created -> solved; a reopen resumes the same clock, so time spent solved is not counted.
Solving a ticket answers any reply still owed. Clocks stop while the ticket is in one of the policy's
pausing statuses. Each finished clock is measured on the calendar in force when it ended; a running or
paused one on the calendar in force now.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

FIRST_REPLY = "first_reply"
NEXT_REPLY = "next_reply"
RESOLUTION = "resolution"
_UNSOLVED = frozenset({"new", "open", "pending", "on_hold"})
_DONE = frozenset({"solved", "closed"})


class Calendar(Protocol):
    def business_time(self, start: datetime, end: datetime) -> timedelta: ...

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime: ...


CalendarAt = Callable[[datetime], Calendar]
"""The calendar in force at an instant (schedules change over time)."""


@dataclass(frozen=True)
class TicketEvent:
    at: datetime
    type: str
    data: Mapping[str, Any]


class MetricStatus(enum.StrEnum):
    ACTIVE = "active"
    BREACHING_SOON = "breaching_soon"
    PAUSED = "paused"
    ACHIEVED = "achieved"
    BREACHED = "breached"


@dataclass(frozen=True)
class MetricClock:
    """One target instance. ``started_at`` identifies it (a ticket has one first-reply and one
    resolution clock but a next-reply clock per exchange). ``elapsed`` is business time,
    ``calendar_elapsed`` the same running time on the wall clock; both leave out paused time.
    ``running`` says the clock is counting now (not finished, not paused)."""

    metric: str
    started_at: datetime
    target: timedelta
    elapsed: timedelta
    calendar_elapsed: timedelta
    status: MetricStatus
    due_at: datetime | None
    ended_at: datetime | None
    breached_at: datetime | None
    running: bool

    @property
    def remaining(self) -> timedelta:
        """Business time left; negative once breached."""
        return self.target - self.elapsed


@dataclass(frozen=True)
class _Window:
    metric: str
    start: datetime
    end: datetime | None


def compute_clocks(
    events: Sequence[TicketEvent],
    *,
    targets: Mapping[str, timedelta],
    calendar_at: CalendarAt,
    pausing_statuses: Collection[str],
    now: datetime,
    breaching_soon: timedelta,
) -> list[MetricClock]:
    """Every target instance of the ticket, in start order, for the metrics that have a target."""
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].at, pair[0]))
    history = [event for _i, event in ordered if event.at <= now]
    if not history:
        return []
    timeline = _status_timeline(history)
    running = _UNSOLVED - set(pausing_statuses)
    clocks = []
    for window in _windows(history, timeline):
        target = targets.get(window.metric)
        if target is None:
            continue
        clocks.append(_measure(window, target, timeline, running, calendar_at, now, breaching_soon))
    return clocks


def _status_timeline(events: Iterable[TicketEvent]) -> list[tuple[datetime, str]]:
    timeline: list[tuple[datetime, str]] = []
    for event in events:
        if event.type == "ticket_created":
            timeline.append((event.at, str(event.data.get("status", "new"))))
        elif event.type == "status_changed":
            timeline.append((event.at, str(event.data["to"])))
    return timeline


def _created(events: Sequence[TicketEvent]) -> TicketEvent:
    return next((e for e in events if e.type == "ticket_created"), events[0])


def _is_public(event: TicketEvent, author_kind: str) -> bool:
    return (
        event.type == "message_added"
        and bool(event.data.get("public"))
        and event.data.get("author_kind") == author_kind
    )


def _is_solve(event: TicketEvent) -> bool:
    return event.type == "status_changed" and event.data.get("to") in _DONE


def _windows(events: Sequence[TicketEvent], timeline: Sequence[tuple[datetime, str]]) -> list[_Window]:
    created = _created(events)
    windows = [_Window(RESOLUTION, created.at, _resolved_at(timeline))]
    messages = [e for e in events if e.type == "message_added"]
    skip_opening_comment = bool(created.data.get("created_by_agent")) and bool(
        messages and _is_public(messages[0], "agent")
    )
    first_reply_end: datetime | None = None
    open_since: datetime | None = None
    for event in events:
        if event.at < created.at:
            continue
        answers = _is_public(event, "agent") or _is_solve(event)
        if first_reply_end is None:
            if skip_opening_comment and event is messages[0]:
                continue
            if answers:
                first_reply_end = event.at
            continue
        if _is_public(event, "requester") and open_since is None:
            open_since = event.at
        elif answers and open_since is not None:
            windows.append(_Window(NEXT_REPLY, open_since, event.at))
            open_since = None
    windows.insert(0, _Window(FIRST_REPLY, created.at, first_reply_end))
    if open_since is not None:
        windows.append(_Window(NEXT_REPLY, open_since, None))
    return windows


def _resolved_at(timeline: Sequence[tuple[datetime, str]]) -> datetime | None:
    """When the ticket last went from unsolved to solved (or straight to closed); None while unsolved."""
    if not timeline or timeline[-1][1] not in _DONE:
        return None
    resolved = timeline[-1][0]
    for at, status in reversed(timeline):
        if status not in _DONE:
            break
        resolved = at
    return resolved


def _running_spans(
    start: datetime, stop: datetime, timeline: Sequence[tuple[datetime, str]], running: Collection[str]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, stop) when the ticket's status lets the clock run."""
    spans: list[tuple[datetime, datetime]] = []
    for i, (at, status) in enumerate(timeline):
        until = timeline[i + 1][0] if i + 1 < len(timeline) else stop
        a, b = max(at, start), min(until, stop)
        if status in running and a < b:
            if spans and spans[-1][1] == a:
                spans[-1] = (spans[-1][0], b)
            else:
                spans.append((a, b))
    return spans


def _measure(
    window: _Window,
    target: timedelta,
    timeline: Sequence[tuple[datetime, str]],
    running: Collection[str],
    calendar_at: CalendarAt,
    now: datetime,
    breaching_soon: timedelta,
) -> MetricClock:
    stop = window.end if window.end is not None else now
    calendar = calendar_at(stop)
    spans = _running_spans(window.start, stop, timeline, running)
    elapsed = calendar_elapsed = timedelta(0)
    # The instant the running time reached the target; the target is breached once that instant has
    # passed before the clock stopped (a reply exactly at the due time is in time).
    reached_at = None
    last_span_start, elapsed_before_last = window.start, timedelta(0)
    for a, b in spans:
        part = calendar.business_time(a, b)
        if reached_at is None and elapsed + part >= target:
            reached_at = calendar.add_business_time(a, target - elapsed)
        last_span_start, elapsed_before_last = a, elapsed
        elapsed += part
        calendar_elapsed += b - a
    breached_at = reached_at if reached_at is not None and reached_at < stop else None
    running_now = window.end is None and _status_at(timeline, now) in running
    if running_now and not (spans and spans[-1][1] == now):
        last_span_start, elapsed_before_last = now, elapsed

    def clock(status: MetricStatus, due_at: datetime | None) -> MetricClock:
        return MetricClock(
            window.metric,
            window.start,
            target,
            elapsed,
            calendar_elapsed,
            status,
            due_at,
            window.end,
            breached_at,
            running_now,
        )

    if breached_at is not None:
        return clock(MetricStatus.BREACHED, breached_at)
    if window.end is not None:
        return clock(MetricStatus.ACHIEVED, None)
    if not running_now:
        return clock(MetricStatus.PAUSED, None)
    due_at = reached_at or calendar.add_business_time(last_span_start, target - elapsed_before_last)
    soon = due_at - now <= breaching_soon
    return clock(MetricStatus.BREACHING_SOON if soon else MetricStatus.ACTIVE, due_at)


def _status_at(timeline: Sequence[tuple[datetime, str]], at: datetime) -> str | None:
    current = None
    for when, status in timeline:
        if when > at:
            break
        current = status
    return current
