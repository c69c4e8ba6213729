"""The call state machine and its durations, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.desk.channels.phone.calls import CallEvent, CallState, StaleEvent, apply, durations, start

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(*steps: tuple[CallEvent, float]):  # type: ignore[no-untyped-def]
    (first, t0), *rest = steps
    call = start(first, at(t0))
    for event, t in rest:
        call = apply(call, event, at(t))
    return call


def test_a_full_call_times_every_phase() -> None:
    call = run(
        (CallEvent.RINGING, 0),
        (CallEvent.QUEUED, 5),
        (CallEvent.ANSWERED, 65),
        (CallEvent.HOLD, 100),
        (CallEvent.RESUME, 130),
        (CallEvent.TRANSFERRED, 200),
        (CallEvent.HOLD, 210),
        (CallEvent.ENDED, 220),  # ended while on hold: the hold closes at the end
        (CallEvent.WRAP_UP_ENDED, 280),
    )
    assert call.state is CallState.COMPLETED
    spent = durations(call)
    assert (spent.wait_s, spent.talk_s, spent.hold_s, spent.wrap_s) == (60, 115, 40, 60)
    assert not call.abandoned and not call.voicemail


def test_wait_counts_from_the_first_ring_without_a_queue() -> None:
    spent = durations(run((CallEvent.RINGING, 0), (CallEvent.ANSWERED, 12), (CallEvent.ENDED, 42)))
    assert (spent.wait_s, spent.talk_s) == (12, 30)


@pytest.mark.parametrize("end", [CallEvent.ABANDONED, CallEvent.ENDED])
def test_hanging_up_before_an_answer_is_an_abandon_with_its_wait(end: CallEvent) -> None:
    call = run((CallEvent.QUEUED, 0), (end, 47))
    assert call.state is CallState.COMPLETED and call.abandoned
    assert durations(call).wait_s == 47 and durations(call).talk_s == 0


def test_voicemail() -> None:
    call = run((CallEvent.RINGING, 0), (CallEvent.QUEUED, 1), (CallEvent.VOICEMAIL, 90))
    assert call.voicemail and not call.abandoned and durations(call).wait_s == 89


@pytest.mark.parametrize(
    ("steps", "late"),
    [
        (((CallEvent.RINGING, 0), (CallEvent.ANSWERED, 5)), CallEvent.ANSWERED),  # a repeat
        (((CallEvent.RINGING, 0), (CallEvent.ANSWERED, 5)), CallEvent.QUEUED),  # out of order
        (((CallEvent.RINGING, 0), (CallEvent.ANSWERED, 5)), CallEvent.RESUME),  # not on hold
        (((CallEvent.QUEUED, 0), (CallEvent.ABANDONED, 5)), CallEvent.ANSWERED),  # already over
        (((CallEvent.RINGING, 0),), CallEvent.HOLD),
    ],
)
def test_events_the_call_has_passed_are_stale(steps, late: CallEvent) -> None:  # type: ignore[no-untyped-def]
    call = run(*steps)
    with pytest.raises(StaleEvent):
        apply(call, late, at(100))
