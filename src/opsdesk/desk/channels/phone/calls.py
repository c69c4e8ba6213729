"""The call state machine and its durations: pure, so every provider's events go through one set of
rules and the timings can be checked without a database.

ringing/queued -> answered -> (hold <-> resume, transferred)* -> ended -> wrap-up -> completed;
before an answer a call can instead be abandoned (the caller hung up) or go to voicemail.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime


class CallEvent(enum.StrEnum):
    RINGING = "ringing"
    QUEUED = "queued"
    ANSWERED = "answered"
    HOLD = "hold"
    RESUME = "resume"
    TRANSFERRED = "transferred"
    ENDED = "ended"
    VOICEMAIL = "voicemail"
    ABANDONED = "abandoned"
    WRAP_UP_ENDED = "wrap_up_ended"


class CallState(enum.StrEnum):
    RINGING = "ringing"
    QUEUED = "queued"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"


class StaleEvent(Exception):
    """An event the call's state has already passed (late or out of order): it changes nothing."""


@dataclass(frozen=True)
class CallTimes:
    state: CallState
    started_at: datetime
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    hold_started_at: datetime | None = None
    hold_s: float = 0.0
    ended_at: datetime | None = None
    wrap_ended_at: datetime | None = None
    abandoned: bool = False
    voicemail: bool = False


BEFORE_ANSWER = (CallState.RINGING, CallState.QUEUED)
TALKING = (CallState.ACTIVE, CallState.ON_HOLD)


def start(event: CallEvent, at: datetime) -> CallTimes:
    """A call first seen with ``event`` (providers may skip ringing or queued, or we may miss them)."""
    call = CallTimes(state=CallState.RINGING, started_at=at)
    if event is CallEvent.RINGING:
        return call
    return apply(call, event, at)


def _close_hold(call: CallTimes, at: datetime) -> CallTimes:
    if call.hold_started_at is None:
        return call
    held = max(0.0, (at - call.hold_started_at).total_seconds())
    return replace(call, hold_started_at=None, hold_s=call.hold_s + held)


def apply(call: CallTimes, event: CallEvent, at: datetime) -> CallTimes:
    """The call after ``event`` at ``at``; :class:`StaleEvent` when the call is already past it."""
    state = call.state
    if event is CallEvent.RINGING:
        raise StaleEvent(event)
    if event is CallEvent.QUEUED and state is CallState.RINGING:
        return replace(call, state=CallState.QUEUED, queued_at=at)
    if event is CallEvent.ANSWERED and state in BEFORE_ANSWER:
        return replace(call, state=CallState.ACTIVE, answered_at=at)
    if event in (CallEvent.ABANDONED, CallEvent.ENDED) and state in BEFORE_ANSWER:
        return replace(call, state=CallState.COMPLETED, ended_at=at, wrap_ended_at=at, abandoned=True)
    if event is CallEvent.VOICEMAIL and state in BEFORE_ANSWER:
        return replace(call, state=CallState.COMPLETED, ended_at=at, wrap_ended_at=at, voicemail=True)
    if event is CallEvent.HOLD and state is CallState.ACTIVE:
        return replace(call, state=CallState.ON_HOLD, hold_started_at=at)
    if event is CallEvent.RESUME and state is CallState.ON_HOLD:
        return replace(_close_hold(call, at), state=CallState.ACTIVE)
    if event is CallEvent.TRANSFERRED and state in TALKING:
        return replace(_close_hold(call, at), state=CallState.ACTIVE)
    if event is CallEvent.ENDED and state in TALKING:
        return replace(_close_hold(call, at), state=CallState.WRAP_UP, ended_at=at)
    if event is CallEvent.WRAP_UP_ENDED and state is CallState.WRAP_UP:
        assert call.ended_at is not None
        return replace(call, state=CallState.COMPLETED, wrap_ended_at=max(at, call.ended_at))
    raise StaleEvent(event)


def _seconds(start_: datetime | None, end: datetime | None) -> float:
    if start_ is None or end is None:
        return 0.0
    return max(0.0, (end - start_).total_seconds())


@dataclass(frozen=True)
class Durations:
    wait_s: float
    talk_s: float
    hold_s: float
    wrap_s: float


def durations(call: CallTimes) -> Durations:
    """Queue wait (queued, or first ring, to answer or hang-up), talk (answer to end, less hold), hold,
    and wrap-up (end to the agent closing it)."""
    waited_from = call.queued_at or call.started_at
    wait = _seconds(waited_from, call.answered_at or call.ended_at)
    talk = max(0.0, _seconds(call.answered_at, call.ended_at) - call.hold_s)
    return Durations(
        wait_s=round(wait, 3),
        talk_s=round(talk, 3),
        hold_s=round(call.hold_s, 3),
        wrap_s=round(_seconds(call.ended_at, call.wrap_ended_at), 3),
    )
