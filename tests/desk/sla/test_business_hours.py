"""Business-hours maths against hand-computed cases (DST changes, holidays) and general properties.

2026 daylight-saving changes used below:
- America/Chicago springs forward on Sunday 8 March (02:00 CST -> 03:00 CDT, i.e. 08:00 UTC) and falls
  back on Sunday 1 November (02:00 CDT -> 01:00 CST, i.e. 07:00 UTC). CST = UTC-6, CDT = UTC-5.
- Europe/Dublin moves from UTC+0 to UTC+1 on Sunday 29 March at 01:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.sla.business_hours import TWENTY_FOUR_SEVEN, BusinessHours

H = timedelta(hours=1)
WEEKDAY_SPLIT = [
    {"weekday": day, "start": start, "end": end}
    for day in range(5)
    for start, end in (("08:00", "12:00"), ("13:00", "17:00"))
]
# Chicago office hours with a lunch break, closed Tuesday 10 March 2026, and a Sunday night window that
# straddles both DST changes.
CHICAGO = BusinessHours.from_spec(
    timezone="America/Chicago",
    intervals=[
        *WEEKDAY_SPLIT,
        {"weekday": 6, "start": "01:00", "end": "03:00"},
        {"weekday": 6, "start": "08:00", "end": "17:00"},
    ],
    holidays=["2026-03-10"],
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekend_spanning_spring_forward() -> None:
    # Friday 6 March 16:00 CST (22:00 UTC) -> Monday 9 March 09:30 CDT (14:30 UTC).
    # Friday 16:00-17:00 = 1 h. Saturday is closed. Sunday 8 March is the spring-forward day:
    #   01:00-03:00 wall = 01:00 CST (07:00 UTC) .. 03:00 CDT (08:00 UTC) = 1 h,
    #   08:00-17:00 wall = 13:00 .. 22:00 UTC = 9 h.
    # Monday 08:00-09:30 CDT = 13:00-14:30 UTC = 1.5 h. Total 1 + 1 + 9 + 1.5 = 12.5 h.
    # (With a fixed CST offset Monday would open at 14:00 UTC and Sunday's hours would be wrong.)
    assert CHICAGO.business_time(utc(2026, 3, 6, 22), utc(2026, 3, 9, 14, 30)) == 12.5 * H


def test_spring_forward_day_intervals() -> None:
    day_start, day_end = utc(2026, 3, 8, 6), utc(2026, 3, 9, 5)  # Sunday 00:00 CST .. Monday 00:00 CDT
    assert CHICAGO.business_time(day_start, day_end) == 10 * H  # 1 h at night + 9 h in the day
    assert CHICAGO.business_time(utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)) == H  # 01:00 CST .. 03:00 CDT
    assert CHICAGO.is_open(utc(2026, 3, 8, 7, 59))  # 01:59 CST
    assert not CHICAGO.is_open(utc(2026, 3, 8, 8))  # 03:00 CDT: the night window has ended
    assert CHICAGO.next_open(utc(2026, 3, 8, 8)) == utc(2026, 3, 8, 13)  # 08:00 CDT
    # An ordinary Sunday has 2 + 9 = 11 h (01:00-03:00 CST = 07:00-09:00 UTC).
    assert CHICAGO.business_time(utc(2026, 3, 1, 6), utc(2026, 3, 2, 6)) == 11 * H


def test_fall_back_night_has_three_real_hours() -> None:
    # Sunday 1 November: 01:00 CDT = 06:00 UTC; the wall clock runs 01:00-02:00 twice; 03:00 CST = 09:00 UTC.
    assert CHICAGO.business_time(utc(2026, 11, 1, 5), utc(2026, 11, 1, 10)) == 3 * H
    assert CHICAGO.is_open(utc(2026, 11, 1, 6, 30))  # 01:30 CDT, first pass
    assert CHICAGO.is_open(utc(2026, 11, 1, 7, 30))  # 01:30 CST, second pass
    assert not CHICAGO.is_open(utc(2026, 11, 1, 9))  # 03:00 CST
    # 2.5 business hours after 01:00 CDT is 08:30 UTC = 02:30 CST.
    assert CHICAGO.add_business_time(utc(2026, 11, 1, 6), 2.5 * H) == utc(2026, 11, 1, 8, 30)
    # The day window 08:00-17:00 CST = 14:00-23:00 UTC: 9 h. Whole day: 3 + 9 = 12 h.
    assert CHICAGO.business_time(utc(2026, 11, 1, 5), utc(2026, 11, 2, 6)) == 12 * H


def test_add_across_a_holiday() -> None:
    # From Monday 9 March 16:00 CDT (21:00 UTC) add 10 business hours:
    #   Monday 16:00-17:00 = 1 h (9 left); Tuesday 10 March is a holiday;
    #   Wednesday 08:00-12:00 = 4 h (5 left), 13:00-17:00 = 4 h (1 left);
    #   Thursday 08:00-09:00 CDT -> due Thursday 12 March 09:00 CDT = 14:00 UTC.
    assert CHICAGO.add_business_time(utc(2026, 3, 9, 21), 10 * H) == utc(2026, 3, 12, 14)
    # And back: Monday 21:00 UTC .. Thursday 14:00 UTC holds exactly those 10 hours.
    assert CHICAGO.business_time(utc(2026, 3, 9, 21), utc(2026, 3, 12, 14)) == 10 * H
    assert not CHICAGO.is_open(utc(2026, 3, 10, 15))  # Tuesday 10:00 CDT, holiday
    assert CHICAGO.next_open(utc(2026, 3, 10, 15)) == utc(2026, 3, 11, 13)  # Wednesday 08:00 CDT


def test_lunch_break_and_due_at_closing() -> None:
    # Monday 2 March (CST): 11:00 CST = 17:00 UTC. 1 h to 12:00, lunch, then 13:00-17:00 CST.
    assert not CHICAGO.is_open(utc(2026, 3, 2, 18, 30))  # 12:30 CST
    assert CHICAGO.add_business_time(utc(2026, 3, 2, 17), 2 * H) == utc(2026, 3, 2, 20)  # 14:00 CST
    # Exactly the rest of the day lands on the closing instant, not the next morning.
    assert CHICAGO.add_business_time(utc(2026, 3, 2, 17), 5 * H) == utc(2026, 3, 2, 23)  # 17:00 CST
    assert CHICAGO.add_business_time(utc(2026, 3, 2, 17), timedelta(0)) == utc(2026, 3, 2, 17)


def test_full_day_interval_on_a_dst_day() -> None:
    dublin = BusinessHours.from_spec(
        timezone="Europe/Dublin", intervals=[{"weekday": 6, "start": "00:00", "end": "24:00"}]
    )
    # Sunday 29 March 2026 runs from 00:00 UTC+0 to 24:00 UTC+1 = 23:00 UTC: 23 hours.
    assert dublin.business_time(utc(2026, 3, 28), utc(2026, 3, 31)) == 23 * H
    # Sunday 22 March: 24 hours.
    assert dublin.business_time(utc(2026, 3, 21), utc(2026, 3, 24)) == 24 * H


def test_twenty_four_seven() -> None:
    start, end = utc(2026, 3, 7, 10), utc(2026, 3, 9, 4, 30)
    assert TWENTY_FOUR_SEVEN.business_time(start, end) == end - start
    assert TWENTY_FOUR_SEVEN.add_business_time(start, 5 * H) == start + 5 * H
    assert TWENTY_FOUR_SEVEN.is_open(start)
    assert TWENTY_FOUR_SEVEN.business_time(end, start) == timedelta(0)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"timezone": "Mars/Olympus", "intervals": WEEKDAY_SPLIT}, "timezone"),
        ({"timezone": "UTC", "intervals": []}, "intervals"),
        (
            {"timezone": "UTC", "intervals": [{"weekday": 0, "start": "09:00", "end": "25:00"}]},
            "intervals[0].end",
        ),
        (
            {"timezone": "UTC", "intervals": [{"weekday": 7, "start": "09:00", "end": "10:00"}]},
            "intervals[0].weekday",
        ),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": "10:00", "end": "09:00"}]}, "intervals"),
        (
            {
                "timezone": "UTC",
                "intervals": [
                    {"weekday": 0, "start": "09:00", "end": "12:00"},
                    {"weekday": 0, "start": "11:00", "end": "13:00"},
                ],
            },
            "intervals",
        ),
        ({"timezone": "UTC", "intervals": WEEKDAY_SPLIT, "holidays": ["2026-02-30"]}, "holidays[0]"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(spec: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        BusinessHours.from_spec(**spec)
    assert caught.value.field == field


def test_adjacent_intervals_join_and_weekday_names_are_accepted() -> None:
    hours = BusinessHours.from_spec(
        timezone="Asia/Manila",
        intervals=[
            {"weekday": "friday", "start": "08:00", "end": "12:00"},
            {"weekday": 4, "start": "12:00", "end": "20:00"},
        ],
        holidays=[date(2026, 3, 13)],
    )
    # Friday 6 March 08:00-20:00 PHT (UTC+8) = 00:00-12:00 UTC; Friday 13 March is a holiday.
    assert hours.business_time(utc(2026, 3, 5), utc(2026, 3, 14)) == 12 * H
    assert hours.is_open(utc(2026, 3, 6, 4))  # 12:00 PHT, the join


# Instants across 2026 at whole seconds, so that both DST changes and the holiday are covered.
YEAR_START = utc(2026, 1, 1)
instants = st.integers(min_value=0, max_value=365 * 86400).map(lambda s: YEAR_START + timedelta(seconds=s))
durations = st.integers(min_value=0, max_value=40 * 86400).map(lambda s: timedelta(seconds=s))
DUBLIN_SHIFTS = BusinessHours.from_spec(
    timezone="Europe/Dublin",
    intervals=[{"weekday": d, "start": "00:30", "end": "01:30"} for d in range(7)]
    + [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)],
    holidays=["2026-03-17", "2026-12-25"],
)
calendars = st.sampled_from([CHICAGO, DUBLIN_SHIFTS])
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(calendars, instants, instants)
def test_adding_the_business_time_between_lands_on_the_end(
    hours: BusinessHours, a: datetime, b: datetime
) -> None:
    end = hours.next_open(b) + timedelta(seconds=1)  # inside an open span, not at its opening
    assume(hours.is_open(end) and hours.is_open(end - timedelta(seconds=1)))
    start = min(a, end)
    assert hours.add_business_time(start, hours.business_time(start, end)) == end


@PROPERTY_SETTINGS
@given(calendars, instants, durations)
def test_business_time_until_an_added_amount_is_that_amount(
    hours: BusinessHours, start: datetime, amount: timedelta
) -> None:
    due = hours.add_business_time(start, amount)
    assert due >= start
    assert hours.business_time(start, due) == amount


@PROPERTY_SETTINGS
@given(calendars, instants, instants, instants)
def test_additive_and_monotonic(hours: BusinessHours, a: datetime, b: datetime, c: datetime) -> None:
    first, middle, last = sorted((a, b, c))
    whole = hours.business_time(first, last)
    assert whole == hours.business_time(first, middle) + hours.business_time(middle, last)
    assert hours.business_time(first, middle) <= whole <= last - first


@PROPERTY_SETTINGS
@given(calendars, instants)
def test_is_open_agrees_with_business_time_and_next_open(hours: BusinessHours, at: datetime) -> None:
    second = timedelta(seconds=1)
    assert hours.is_open(at) == (hours.business_time(at, at + second) == second)
    opens = hours.next_open(at)
    assert hours.is_open(opens)
    assert hours.business_time(at, opens) == timedelta(0)
