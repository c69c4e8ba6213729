"""SLA clocks computed from event lists alone, with hand-computed expectations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.desk.sla.business_hours import TWENTY_FOUR_SEVEN, BusinessHours
from opsdesk.desk.sla.metrics import (
    FIRST_REPLY,
    NEXT_REPLY,
    RESOLUTION,
    Calendar,
    MetricClock,
    MetricStatus,
    TicketEvent,
    compute_clocks,
)

M = timedelta(minutes=1)
H = timedelta(hours=1)
DAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def at(hour: float, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour)


def created(when: datetime, *, by_agent: bool = False) -> TicketEvent:
    return TicketEvent(when, "ticket_created", {"status": "new", "created_by_agent": by_agent})


def message(when: datetime, kind: str, *, public: bool = True) -> TicketEvent:
    return TicketEvent(when, "message_added", {"public": public, "author_kind": kind})


def status(when: datetime, before: str, after: str) -> TicketEvent:
    return TicketEvent(when, "status_changed", {"from": before, "to": after})


def clocks(
    events: Sequence[TicketEvent],
    now: datetime,
    *,
    targets: dict[str, timedelta] | None = None,
    calendar: Calendar = TWENTY_FOUR_SEVEN,
    pausing: Sequence[str] = ("pending",),
    soon: timedelta = 30 * M,
    **kwargs: Any,
) -> list[MetricClock]:
    return compute_clocks(
        events,
        targets=targets or {FIRST_REPLY: H, NEXT_REPLY: H, RESOLUTION: 8 * H},
        calendar_at=kwargs.get("calendar_at", lambda _at: calendar),
        pausing_statuses=pausing,
        now=now,
        breaching_soon=soon,
    )


def only(result: list[MetricClock], metric: str) -> MetricClock:
    (found,) = [c for c in result if c.metric == metric]
    return found


def test_first_reply_breached_when_the_agent_answers_late() -> None:
    # Created 09:00, agent replies at 10:30 against a 60-minute target: breached at 10:00, 90 min elapsed.
    events = [
        created(at(9)),
        message(at(9), "requester"),
        message(at(10.5), "agent"),
        status(at(10.5), "new", "open"),
    ]
    first = only(clocks(events, at(11)), FIRST_REPLY)
    assert first.status is MetricStatus.BREACHED
    assert first.elapsed == 90 * M
    assert first.breached_at == at(10) == first.due_at
    assert first.ended_at == at(10.5)
    assert first.remaining == -30 * M


def test_bot_replies_and_internal_notes_do_not_stop_the_first_reply_clock() -> None:
    events = [
        created(at(9)),
        message(at(9), "requester"),
        message(at(9 + 5 / 60), "system"),  # an autoresponder
        message(at(9.25), "agent", public=False),  # an internal note
        message(at(9 + 50 / 60), "agent"),
    ]
    first = only(clocks(events, at(12)), FIRST_REPLY)
    assert first.status is MetricStatus.ACHIEVED
    assert first.elapsed == 50 * M
    assert first.due_at is None


def test_agent_created_ticket_counts_the_agents_second_public_comment() -> None:
    # An agent opens the ticket with a public comment at 09:00; the requester answers at 10:00 (covered by
    # the first-reply clock, so no next-reply clock starts); the agent's next public comment at 11:00 is
    # the reply.
    events = [
        created(at(9), by_agent=True),
        message(at(9), "agent"),
        message(at(10), "requester"),
        message(at(11), "agent"),
    ]
    result = clocks(events, at(12), targets={FIRST_REPLY: 3 * H, NEXT_REPLY: H})
    first = only(result, FIRST_REPLY)
    assert (first.ended_at, first.elapsed, first.status) == (at(11), 2 * H, MetricStatus.ACHIEVED)
    assert [c for c in result if c.metric == NEXT_REPLY] == []


def test_agent_created_ticket_with_an_internal_first_comment_counts_the_first_public_one() -> None:
    events = [created(at(9), by_agent=True), message(at(9), "agent", public=False), message(at(9.5), "agent")]
    assert only(clocks(events, at(12)), FIRST_REPLY).ended_at == at(9.5)


def test_next_reply_runs_from_the_oldest_unanswered_requester_message() -> None:
    events = [
        created(at(9)),
        message(at(9), "requester"),
        message(at(9.5), "agent"),  # first reply
        message(at(12), "requester"),
        message(at(12 + 10 / 60), "requester"),  # still the 12:00 message that is oldest unanswered
        message(at(13.5), "agent"),  # answers after 90 min: breached at 13:00
        message(at(14), "requester"),  # a new exchange, unanswered at 14:40
    ]
    result = [c for c in clocks(events, at(14 + 40 / 60)) if c.metric == NEXT_REPLY]
    assert [(c.started_at, c.ended_at, c.status) for c in result] == [
        (at(12), at(13.5), MetricStatus.BREACHED),
        (at(14), None, MetricStatus.BREACHING_SOON),  # 20 minutes left, inside the 30-minute warning
    ]
    assert result[0].breached_at == at(13)
    assert result[1].elapsed == 40 * M
    assert result[1].due_at == at(15)


def test_pending_pauses_and_a_reopen_resumes_the_resolution_clock() -> None:
    # Running 09:00-10:00 (1 h), pending 10:00-13:00 (paused), open 13:00-15:00 (2 h), solved 15:00-17:00,
    # reopened at 17:00; at 18:00 the clock has run 1 + 2 + 1 = 4 h of the 8 h target: due at 22:00.
    events = [
        created(at(9)),
        message(at(9), "requester"),
        message(at(10), "agent"),
        status(at(10), "new", "pending"),
        message(at(13), "requester"),
        status(at(13), "pending", "open"),
        status(at(15), "open", "solved"),
        message(at(17), "requester"),
        status(at(17), "solved", "open"),
    ]
    resolution = only(clocks(events, at(18)), RESOLUTION)
    assert resolution.status is MetricStatus.ACTIVE
    assert resolution.elapsed == resolution.calendar_elapsed == 4 * H
    assert resolution.due_at == at(22)
    assert resolution.ended_at is None

    solved_at_15 = only(clocks(events[:7], at(16)), RESOLUTION)
    assert (solved_at_15.status, solved_at_15.elapsed, solved_at_15.ended_at) == (
        MetricStatus.ACHIEVED,
        3 * H,
        at(15),
    )

    paused = only(clocks(events[:4], at(12)), RESOLUTION)
    assert (paused.status, paused.elapsed, paused.due_at) == (MetricStatus.PAUSED, H, None)


def test_on_hold_pauses_only_when_the_policy_says_so() -> None:
    events = [created(at(9)), message(at(9), "requester"), status(at(9.5), "new", "on_hold")]
    assert only(clocks(events, at(11)), RESOLUTION).elapsed == 2 * H
    held = only(clocks(events, at(11), pausing=("pending", "on_hold")), RESOLUTION)
    assert (held.elapsed, held.status) == (30 * M, MetricStatus.PAUSED)


def test_solving_answers_an_owed_reply() -> None:
    events = [created(at(9)), message(at(9), "requester"), status(at(9.5), "new", "solved")]
    result = clocks(events, at(12))
    assert only(result, FIRST_REPLY).ended_at == at(9.5)
    assert only(result, FIRST_REPLY).status is MetricStatus.ACHIEVED
    assert only(result, RESOLUTION).ended_at == at(9.5)


def test_a_metric_without_a_target_has_no_clock() -> None:
    events = [created(at(9)), message(at(9), "requester")]
    assert [c.metric for c in clocks(events, at(10), targets={RESOLUTION: H})] == [RESOLUTION]


def test_business_hours_across_a_weekend_with_spring_forward() -> None:
    # Chicago Mon-Fri 08:00-17:00; 10 March is a holiday. Created Friday 6 March 16:00 CST (22:00 UTC) and
    # solved Wednesday 11 March 09:30 CDT (14:30 UTC): Friday 1 h + Monday 9 h + Wednesday 1.5 h = 11.5 h of
    # business time; on the wall clock 4 days 16.5 h have passed. A 10 h target was used up (1 + 9 h) at
    # Monday 17:00 CDT = 22:00 UTC, so it breached then, though the clock only moved again on Wednesday.
    chicago = BusinessHours.from_spec(
        timezone="America/Chicago",
        intervals=[{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
        holidays=["2026-03-10"],
    )
    start = datetime(2026, 3, 6, 22, tzinfo=UTC)
    solved = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)
    events = [created(start), message(start, "requester"), status(solved, "new", "solved")]
    resolution = only(clocks(events, solved + H, targets={RESOLUTION: 10 * H}, calendar=chicago), RESOLUTION)
    assert resolution.elapsed == 11.5 * H
    assert resolution.calendar_elapsed == timedelta(days=4, hours=16.5)
    assert resolution.status is MetricStatus.BREACHED
    assert resolution.breached_at == datetime(2026, 3, 9, 22, tzinfo=UTC)

    # While still open on Monday 9 March 10:00 CDT (15:00 UTC): 1 + 2 = 3 h used, 7 h left -> due Monday
    # 17:00 CDT = 22:00 UTC (the holiday is not reached).
    running = only(
        clocks(
            events[:2], datetime(2026, 3, 9, 15, tzinfo=UTC), targets={RESOLUTION: 10 * H}, calendar=chicago
        ),
        RESOLUTION,
    )
    assert (running.elapsed, running.due_at) == (3 * H, datetime(2026, 3, 9, 22, tzinfo=UTC))


def test_a_finished_clock_uses_the_calendar_in_force_when_it_ended() -> None:
    # Hours change at noon on Monday from 24x7 to 09:00-10:00 UTC daily. A first reply at 11:00 on
    # Monday is measured 24x7 (2 h); one answered on Tuesday at 11:00 is measured on the new hours:
    # Monday 09:00-10:00 and Tuesday 09:00-10:00 = 2 h too, but a reply still owed on Tuesday at 09:30
    # counts 1.5 h.
    short = BusinessHours.from_spec(
        timezone="UTC", intervals=[{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(7)]
    )

    def calendar_at(instant: datetime) -> Calendar:
        return TWENTY_FOUR_SEVEN if instant < at(12) else short

    base = [created(at(9)), message(at(9), "requester")]
    early = only(clocks([*base, message(at(11), "agent")], at(13), calendar_at=calendar_at), FIRST_REPLY)
    assert early.elapsed == 2 * H
    late = only(
        clocks([*base, message(at(11, day=1), "agent")], at(13, day=1), calendar_at=calendar_at), FIRST_REPLY
    )
    assert late.elapsed == 2 * H
    owed = only(
        clocks(base, at(9.5, day=1), targets={FIRST_REPLY: 5 * H}, calendar_at=calendar_at), FIRST_REPLY
    )
    assert (owed.elapsed, owed.status) == (1.5 * H, MetricStatus.ACTIVE)
    # 3.5 h left on the 09:00-10:00 calendar: 0.5 h on Tuesday, 1 h each on Wednesday, Thursday, Friday.
    assert owed.due_at == at(10, day=4)


def test_events_in_the_future_are_ignored_and_an_empty_log_has_no_clocks() -> None:
    assert clocks([], at(9)) == []
    events = [created(at(9)), message(at(9), "requester"), message(at(11), "agent")]
    first = only(clocks(events, at(9 + 20 / 60)), FIRST_REPLY)
    assert (first.status, first.elapsed, first.due_at) == (MetricStatus.ACTIVE, 20 * M, at(10))


# Random ticket histories: every clock must be self-consistent whatever happens to the ticket.
ACTIONS = ["requester", "agent", "system", "note", "open", "pending", "on_hold", "solved", "closed"]
CHICAGO_SPLIT = BusinessHours.from_spec(
    timezone="America/Chicago",
    intervals=[
        {"weekday": d, "start": s, "end": e}
        for d in range(5)
        for s, e in (("08:00", "12:00"), ("13:00", "17:00"))
    ],
    holidays=["2026-03-10"],
)
histories = st.lists(st.tuples(st.integers(0, 900), st.sampled_from(ACTIONS)), max_size=25)


def history(steps: list[tuple[int, str]], start: datetime) -> tuple[list[TicketEvent], datetime]:
    events = [created(start), message(start, "requester")]
    when, current = start, "new"
    for gap, action in steps:
        when += timedelta(minutes=gap)
        if current == "closed":
            break
        if action in ("requester", "agent", "system"):
            events.append(message(when, action))
        elif action == "note":
            events.append(message(when, "agent", public=False))
        elif action != current and not (action == "closed" and current != "solved"):
            events.append(status(when, current, action))
            current = action
    return events, when


@settings(max_examples=120, deadline=None)
@given(histories, st.integers(0, 3000), st.sampled_from([TWENTY_FOUR_SEVEN, CHICAGO_SPLIT]), st.booleans())
def test_clocks_are_consistent_for_any_history(
    steps: list[tuple[int, str]], wait: int, calendar: BusinessHours, hold_pauses: bool
) -> None:
    events, last = history(steps, datetime(2026, 3, 6, 20, tzinfo=UTC))  # a Friday, before spring-forward
    targets = {FIRST_REPLY: 45 * M, NEXT_REPLY: 2 * H, RESOLUTION: 9 * H}
    pausing = ("pending", "on_hold") if hold_pauses else ("pending",)
    now = last + timedelta(minutes=wait)
    earlier = clocks(events, last, targets=targets, calendar=calendar, pausing=pausing)
    result = clocks(events, now, targets=targets, calendar=calendar, pausing=pausing)
    assert [c.metric for c in result].count(FIRST_REPLY) == 1
    assert [c.metric for c in result].count(RESOLUTION) == 1
    before = {(c.metric, c.started_at): c for c in earlier}
    for clock in result:
        assert clock.elapsed <= clock.calendar_elapsed
        if calendar is TWENTY_FOUR_SEVEN:
            assert clock.elapsed == clock.calendar_elapsed
        if clock.elapsed > clock.target:
            assert clock.status is MetricStatus.BREACHED
        if clock.status is MetricStatus.BREACHED:
            assert clock.elapsed >= clock.target
            assert clock.breached_at is not None and clock.breached_at == clock.due_at
        if clock.status in (MetricStatus.ACTIVE, MetricStatus.BREACHING_SOON):
            assert clock.running and clock.due_at is not None and clock.due_at >= now
            assert calendar.business_time(now, clock.due_at) == clock.target - clock.elapsed
        if clock.status is MetricStatus.PAUSED:
            assert not clock.running and clock.due_at is None
        if clock.ended_at is not None:
            assert clock.status in (MetricStatus.ACHIEVED, MetricStatus.BREACHED)
        # Waiting longer never takes time off a clock nor undoes a breach.
        previous = before.get((clock.metric, clock.started_at))
        if previous is not None:
            assert clock.elapsed >= previous.elapsed
            assert previous.status is not MetricStatus.BREACHED or clock.status is MetricStatus.BREACHED
