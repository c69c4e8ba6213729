"""Shift scheduling on tiny, hand-checkable weeks: each test's answer can be worked out on paper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from opsdesk.workforce.coverage import split_requirement
from opsdesk.workforce.scheduling import (
    Horizon,
    ScheduledShift,
    SiteSchedule,
    Weights,
    coverage_table,
    schedule_site,
    schedule_sites,
    shifts_table,
    site_calendar,
)
from opsdesk.workforce.sites import Site, parse_sites

HOUR = timedelta(hours=1)
ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
RELAXED = {
    "min_rest_hours": 0,
    "max_consecutive_days": 7,
    "min_days_off_per_week": 0,
    "max_hours_per_week": 84,
}


def make_site(
    *,
    timezone: str = "UTC",
    headcount: int = 1,
    windows: list[str],
    rules: dict[str, Any] | None = None,
    lengths: list[float] | None = None,
    break_minutes: int = 0,
    opening: dict[str, list[str]] | None = None,
) -> Site:
    shifts: dict[str, Any] = {
        "lengths_hours": lengths or [8],
        "start_windows": windows,
        "break_minutes": break_minutes,
    }
    data = {
        "name": "Site",
        "timezone": timezone,
        "opening_hours": ALL_DAY if opening is None else opening,
        "languages": ["en"],
        "skills": ["L1"],
        "headcount": headcount,
        "shifts": shifts,
        "rules": RELAXED | (rules or {}),
    }
    return parse_sites({"sites": [data]}).sites[0]


def week(start: datetime = datetime(2027, 2, 1, tzinfo=UTC), step: timedelta = HOUR) -> Horizon:
    return Horizon(start=start, interval=step, periods=int(timedelta(days=7) / step))


def need(horizon: Horizon, *spans: tuple[datetime, datetime], agents: int = 1) -> np.ndarray:
    """A requirement of `agents` inside each [start, end) span, zero elsewhere (one demand part)."""
    values = np.zeros((1, horizon.periods), dtype=np.int64)
    for start, end in spans:
        for p in range(horizon.periods):
            if start <= horizon.at(p) < end:
                values[0, p] += agents
    return values


def solve(site: Site, horizon: Horizon, required: np.ndarray, weights: Weights = Weights()) -> SiteSchedule:
    demand = parse_sites({"sites": [site.model_dump()]}).demand_mix
    return schedule_site(site, demand, required, horizon, weights=weights, time_limit=10)


def local(shift: ScheduledShift, site: Site) -> tuple[str, str]:
    return shift.start.astimezone(site.zone).strftime("%a %H:%M"), shift.end.astimezone(site.zone).strftime(
        "%a %H:%M"
    )


def test_one_night_shift_across_midnight() -> None:
    manila = make_site(timezone="Asia/Manila", windows=["06:00-10:00", "20:00-23:00"])
    horizon = week(datetime(2027, 1, 31, 16, tzinfo=UTC))  # Monday 00:00 in Manila
    monday_night = datetime(2027, 2, 1, 14, tzinfo=UTC)  # 22:00 Manila
    result = solve(manila, horizon, need(horizon, (monday_night, monday_night + 8 * HOUR)))
    assert result.status == "OPTIMAL"
    assert [local(s, manila) for s in result.shifts] == [("Mon 22:00", "Tue 06:00")]
    assert result.under.sum() == 0 and result.over.sum() == 0


def test_a_night_shift_wraps_around_the_end_of_the_week() -> None:
    """Sunday 22:00 to Monday 06:00: the week repeats, so its Monday morning is this shift's tail."""
    site = make_site(windows=["22:00-22:00"])
    horizon = week()
    sunday_night = horizon.end - 2 * HOUR
    result = solve(
        site, horizon, need(horizon, (sunday_night, horizon.end), (horizon.start, horizon.start + 6 * HOUR))
    )
    assert [(s.start, s.end) for s in result.shifts] == [(sunday_night, horizon.end + 6 * HOUR)]
    assert result.under.sum() == 0 and result.over.sum() == 0


def test_rest_rule_prevents_a_late_then_early_pair() -> None:
    windows = ["06:00-06:00", "14:00-14:00"]  # an early (06-14) and a late (14-22) shift
    horizon = week()
    late = (datetime(2027, 2, 1, 14, tzinfo=UTC), datetime(2027, 2, 1, 22, tzinfo=UTC))
    early = (datetime(2027, 2, 2, 6, tzinfo=UTC), datetime(2027, 2, 2, 14, tzinfo=UTC))  # 8 h later
    required = need(horizon, late, early)
    alone = solve(make_site(windows=windows, rules={"min_rest_hours": 11}), horizon, required)
    assert len(alone.shifts) == 1  # 8 h apart < 11 h rest: one of the two stays uncovered
    assert alone.under.sum() == 8 and alone.over.sum() == 0
    two = solve(make_site(windows=windows, rules={"min_rest_hours": 11}, headcount=2), horizon, required)
    assert len(two.shifts) == 2 and two.under.sum() == 0
    assert len({s.agent for s in two.shifts}) == 2
    short_rest = solve(make_site(windows=windows, rules={"min_rest_hours": 8}), horizon, required)
    assert len(short_rest.shifts) == 2 and short_rest.under.sum() == 0


def test_weekly_hours_cap_is_respected() -> None:
    site = make_site(windows=["09:00-09:00"], rules={"max_hours_per_week": 24})
    horizon = week()
    days = [
        (horizon.start + d * 24 * HOUR + 9 * HOUR, horizon.start + d * 24 * HOUR + 17 * HOUR)
        for d in range(7)
    ]
    result = solve(site, horizon, need(horizon, *days))
    assert len(result.shifts) == 3  # 3 x 8 h = 24 h
    assert result.under.sum() == 4 * 8


def test_days_off_are_respected() -> None:
    site = make_site(windows=["09:00-09:00"], rules={"min_days_off_per_week": 2})
    horizon = week()
    days = [
        (horizon.start + d * 24 * HOUR + 9 * HOUR, horizon.start + d * 24 * HOUR + 17 * HOUR)
        for d in range(7)
    ]
    result = solve(site, horizon, need(horizon, *days))
    assert len(result.shifts) == 5
    assert result.under.sum() == 2 * 8


def test_consecutive_days_wrap_around_the_week() -> None:
    site = make_site(windows=["09:00-09:00"], rules={"max_consecutive_days": 2})
    horizon = week()
    days = [
        (horizon.start + d * 24 * HOUR + 9 * HOUR, horizon.start + d * 24 * HOUR + 17 * HOUR)
        for d in range(7)
    ]
    result = solve(site, horizon, need(horizon, *days))
    worked = {s.start.weekday() for s in result.shifts}
    assert len(worked) == 4  # at most 2 in a row in a repeating week of 7: 4 days
    for day in range(7):
        assert not {day, (day + 1) % 7, (day + 2) % 7} <= worked


def test_under_staffing_costs_more_than_over_staffing() -> None:
    """2 agents 08-13 then 1 agent 13-16, 8-hour shifts from 08:00: a second shift removes 5 hours of
    under and adds 3 hours of over. Worth it at under 3 : over 1, not at under 1 : over 3."""
    horizon = week()
    monday = horizon.start + 8 * HOUR
    required = need(horizon, (monday, monday + 8 * HOUR)) + need(horizon, (monday, monday + 5 * HOUR))
    one = solve(make_site(windows=["08:00-08:00"]), horizon, required)
    assert (one.under.sum(), one.over.sum()) == (5, 0)
    two = make_site(windows=["08:00-08:00"], headcount=2)
    result = solve(two, horizon, required)
    assert (result.under.sum(), result.over.sum()) == (0, 3)
    reversed_weights = solve(two, horizon, required, Weights(under=1, over=3))
    assert (reversed_weights.under.sum(), reversed_weights.over.sum()) == (5, 0)


def test_breaks_are_placed_where_the_requirement_dips() -> None:
    site = make_site(windows=["08:00-08:00"], lengths=[8.5], break_minutes=30)
    horizon = week(step=timedelta(minutes=30))
    start = horizon.start + 8 * HOUR
    dip = start + timedelta(hours=4)
    result = solve(
        site,
        horizon,
        need(horizon, (start, dip), (dip + timedelta(minutes=30), start + timedelta(hours=8.5))),
    )
    (shift,) = result.shifts
    assert (shift.break_start, shift.break_end) == (dip, dip + timedelta(minutes=30))
    assert result.under.sum() == 0 and result.over.sum() == 0


def test_skills_decide_who_can_take_the_work() -> None:
    """Spanish work and an English-only team: scheduling them would only add idle time."""
    config = parse_sites(
        {
            "demand_mix": [{"language": "es", "share": 1.0}],
            "sites": [
                {
                    "name": "A",
                    "timezone": "UTC",
                    "opening_hours": ALL_DAY,
                    "languages": ["en", "es"],
                    "skills": ["L1"],
                    "headcount": 2,
                    "shifts": {"start_windows": ["09:00-09:00"], "break_minutes": 0},
                    "rules": RELAXED,
                    "teams": [
                        {"name": "en", "skills": ["L1"], "languages": ["en"], "headcount": 1},
                        {"name": "es", "skills": ["L1"], "languages": ["es"], "headcount": 1},
                    ],
                },
            ],
        }
    )
    site = config.sites[0]
    horizon = week()
    monday = (horizon.start + 9 * HOUR, horizon.start + 17 * HOUR)
    result = schedule_site(site, config.demand_mix, need(horizon, monday, agents=2), horizon, time_limit=10)
    assert [s.team for s in result.shifts] == ["es"]
    assert result.under.sum() == 8 and result.over.sum() == 0


def test_shift_starts_stay_on_the_local_clock_across_daylight_saving() -> None:
    chicago = make_site(timezone="America/Chicago", windows=["08:00-08:00"])
    horizon = week(datetime(2027, 3, 9, 6, tzinfo=UTC))  # Tuesday 00:00 CST; DST starts Sunday 14 March
    days = []
    for d in range(7):
        start = datetime(2027, 3, 9 + d, 8, tzinfo=chicago.zone)
        days.append((start.astimezone(UTC), (start + 8 * HOUR).astimezone(UTC)))
    result = solve(chicago, horizon, need(horizon, *days))
    assert [s.start.astimezone(chicago.zone).hour for s in result.shifts] == [8] * 7
    assert {s.start.hour for s in result.shifts} == {14, 13}  # 14:00 UTC in CST, 13:00 UTC in CDT
    assert result.under.sum() == 0 and result.over.sum() == 0


def test_shifts_stay_inside_opening_hours() -> None:
    site = make_site(windows=["06:00-12:00"], opening={"mon": ["09:00-17:00"]})
    calendar = site_calendar(site, week())
    assert [c.start.hour for c in calendar.candidates] == [9]  # the only 8 h shift inside 09:00-17:00


def test_a_horizon_shorter_than_a_week_does_not_wrap() -> None:
    site = make_site(windows=["22:00-22:00"])
    horizon = Horizon(start=datetime(2027, 2, 1, tzinfo=UTC), interval=HOUR, periods=48)
    result = solve(site, horizon, need(horizon, (horizon.start, horizon.start + 6 * HOUR)))
    assert result.shifts == [] and result.under.sum() == 6  # nothing can reach back before the start
    late = solve(site, horizon, need(horizon, (horizon.end - 2 * HOUR, horizon.end)))
    assert [s.start for s in late.shifts] == [horizon.end - 2 * HOUR]


def test_several_sites_report_shifts_and_coverage_that_add_up() -> None:
    config = parse_sites(
        {
            "sites": [
                {
                    "name": name,
                    "timezone": zone,
                    "opening_hours": ALL_DAY,
                    "languages": ["en"],
                    "skills": ["L1"],
                    "headcount": 6,
                    "shifts": {"start_windows": ["08:00-12:00"], "lengths_hours": [8.5]},
                }
                for name, zone in (("Chicago", "America/Chicago"), ("Manila", "Asia/Manila"))
            ]
        }
    )
    horizon = week(step=timedelta(minutes=30))
    hour = np.array([horizon.at(p).hour for p in range(horizon.periods)])
    requirement = np.where((hour >= 14) | (hour < 2), 3, 1)
    import pandas as pd

    series = pd.Series(requirement, index=pd.DatetimeIndex([horizon.at(p) for p in range(horizon.periods)]))
    split = split_requirement(series, config.sites, config.demand_mix)
    results = schedule_sites(split, config, horizon, time_limit=20)
    coverage = coverage_table(results, horizon, split.unserved)
    assert coverage["required"].sum() == requirement.sum()
    assert (coverage["scheduled"] - coverage["required"] == coverage["over"] - coverage["under"]).all()
    table = shifts_table(results, config)
    assert list(table.columns) == [
        "agent",
        "site",
        "team",
        "skills",
        "languages",
        "start",
        "end",
        "break_start",
        "break_end",
    ]
    assert table["start"].str.endswith(("-06:00", "+08:00")).all()
    for result in results:
        site = config.site(result.site)
        by_line: dict[str, list[ScheduledShift]] = {}
        for shift in result.shifts:
            by_line.setdefault(shift.agent, []).append(shift)
            assert shift.break_start is not None and shift.break_end is not None
            assert shift.start + 3 * HOUR <= shift.break_start <= shift.start + 5 * HOUR
        for shifts in by_line.values():
            shifts.sort(key=lambda s: s.start)
            assert len(shifts) <= 5
            assert sum((s.end - s.start - timedelta(minutes=30) for s in shifts), timedelta()) <= 40 * HOUR
            for before, after in zip(shifts, [*shifts[1:], shifts[0]], strict=True):
                gap = (after.start if after is not shifts[0] else after.start + 7 * 24 * HOUR) - before.end
                assert len(shifts) == 1 or gap >= 11 * HOUR
            local_days = sorted({s.start.astimezone(site.zone).date() for s in shifts})
            assert len(local_days) == len(shifts)  # one shift per day


@pytest.mark.parametrize("limit", [1.0])
def test_a_site_with_no_people_or_no_open_hours_reports_all_as_under(limit: float) -> None:
    site = make_site(windows=["09:00-09:00"], opening={})
    horizon = week()
    result = schedule_site(
        site,
        parse_sites({"sites": [site.model_dump()]}).demand_mix,
        need(horizon, (horizon.start, horizon.start + 3 * HOUR)),
        horizon,
        time_limit=limit,
    )
    assert result.shifts == [] and result.under.sum() == 3


def test_rest_the_team_level_model_cannot_see_is_still_honoured() -> None:
    """42 h rest after 8 h shifts at 06:00: Monday and Wednesday are 40 h apart. The count model only
    sums the rest rule over adjacent days, so it plans every other day; the line model must repair it:
    in a repeating week only two such shifts fit (any three leave a 2-day gap somewhere)."""
    site = make_site(windows=["06:00-06:00"], rules={"min_rest_hours": 42})
    horizon = week()
    days = [
        (horizon.start + d * 24 * HOUR + 6 * HOUR, horizon.start + d * 24 * HOUR + 14 * HOUR)
        for d in range(7)
    ]
    result = solve(site, horizon, need(horizon, *days))
    starts = sorted(s.start for s in result.shifts)
    assert len(starts) == 2
    gaps = [starts[1] - starts[0], starts[0] + 7 * 24 * HOUR - starts[1]]
    assert min(gaps) - 8 * HOUR >= 42 * HOUR
    assert result.under.sum() == 5 * 8
