"""The intraday pure rules, against hand-computed numbers: adherence and agents per interval from spans of
time, and the re-forecast of the rest of the day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.workforce.intraday.adherence import (
    adherence,
    agents_per_interval,
    on_shift_spans,
    online_spans,
)
from opsdesk.workforce.intraday.reforecast import reforecast


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def test_time_off_is_cut_out_of_shifts_and_overlapping_shifts_count_once() -> None:
    shifts = [(at(8), at(12)), (at(11), at(16)), (at(18), at(20))]
    assert on_shift_spans(shifts, [(at(9, 30), at(10)), (at(19), at(21))]) == [
        (at(8), at(9, 30)),
        (at(10), at(16)),
        (at(18), at(19)),
    ]


def test_online_spans_follow_the_status_in_force_and_stop_at_the_end() -> None:
    changes = [(at(8, 10), "online"), (at(9), "away"), (at(9, 20), "online"), (at(11), "offline")]
    # Offline at the start; the span still open at the end (10:07) is cut there; later changes do nothing.
    assert online_spans("offline", changes, at(0), at(10, 7)) == [(at(8, 10), at(9)), (at(9, 20), at(10, 7))]
    # Online since before the period: online from its start.
    assert online_spans("online", [(at(2), "away")], at(0), at(10)) == [(at(0), at(2))]
    assert online_spans("away", [], at(0), at(10)) == []


def test_adherence_counts_scheduled_minutes_spent_online() -> None:
    """On shift 08:00-16:00 and, at 10:07, online 08:10-09:00 and 09:20 on: 127 scheduled minutes, 97
    of them online; 30 missed; adherence 97 / 127."""
    online = online_spans(
        "offline", [(at(8, 10), "online"), (at(9), "away"), (at(9, 20), "online")], at(0), at(10, 7)
    )
    result = adherence([(at(8), at(16))], online, at(0), at(10, 7))
    assert result.scheduled_minutes == 127
    assert result.adherent_minutes == 97
    assert result.missed_minutes == 30
    assert result.unscheduled_online_minutes == 0
    assert result.out_of_adherence_minutes == 30
    assert result.adherence == pytest.approx(97 / 127)


def test_online_off_shift_is_out_of_adherence_but_outside_the_ratio() -> None:
    """On shift 09:00-16:00 less time off 09:30-10:00, online all along from 09:00: at 10:07, 37 minutes
    scheduled, all of them online (100%), and 30 minutes online in the time off."""
    shift = on_shift_spans([(at(9), at(16))], [(at(9, 30), at(10))])
    result = adherence(shift, [(at(9), at(10, 7))], at(0), at(10, 7))
    assert (result.scheduled_minutes, result.adherent_minutes) == (37, 37)
    assert result.adherence == 1.0
    assert result.unscheduled_online_minutes == 30 and result.out_of_adherence_minutes == 30
    nothing = adherence([], [(at(7), at(7, 30))], at(0), at(10))
    assert nothing.adherence is None and nothing.out_of_adherence_minutes == 30


def test_agents_per_interval_average_over_the_interval_and_stop_at_now() -> None:
    quarter = timedelta(minutes=15)
    starts = [at(9, 15), at(9, 30), at(10), at(10, 15)]
    first = [(at(9, 20), at(12))]  # 10 of the 09:15 interval's 15 minutes
    second = [(at(9), at(9, 30)), (at(10), at(10, 7))]
    assert agents_per_interval([first, second], starts, quarter) == pytest.approx(
        [10 / 15 + 1, 1, 1 + 7 / 15, 1]
    )
    # Up to now (10:07): the current interval over its 7 elapsed minutes, none for the future one.
    assert agents_per_interval([first, second], starts, quarter, until=at(10, 7)) == pytest.approx(
        [10 / 15 + 1, 1, 2, None]
    )


def test_the_rest_of_the_day_is_scaled_by_the_damped_ratio_of_the_last_four_hours() -> None:
    forecast = [10.0] * 24
    actual = [99.0] * 2 + [15.0] * 16 + [3.0] + [0.0] * 5  # index 18 is the interval now falls in
    result = reforecast(forecast, actual, 18)
    # The window is the 16 complete intervals before now (indexes 2-17): (240 + 10) / (160 + 10).
    assert (result.window_actual, result.window_forecast) == (240, 160)
    assert result.ratio == pytest.approx(250 / 170)
    assert result.values[:18] == actual[:18]  # what arrived stays
    assert result.values[18:] == pytest.approx([10 * 250 / 170] * 6)  # the current one is re-forecast too
    # Early in the day the window is what there is; with nothing forecast and nothing arrived, ratio 1.
    early = reforecast([2.0, 2.0, 2.0], [5.0, 0.0, 0.0], 1)
    assert early.ratio == pytest.approx(15 / 12) and early.values == pytest.approx([5, 2.5, 2.5])
    assert reforecast([0.0] * 4, [0.0] * 4, 2).ratio == 1.0
    with pytest.raises(ValueError):
        reforecast([1.0], [1.0], 2)
