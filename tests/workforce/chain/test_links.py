"""Each link of the planning chain alone, on numbers small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from opsdesk.workforce.chain.compare import compare
from opsdesk.workforce.chain.contacts import fit_channel
from opsdesk.workforce.chain.growth import BookAccount, EndingTerm, PipelineDeal, forecast_lives
from opsdesk.workforce.chain.headcount import hiring_rows, team_need
from opsdesk.workforce.chain.requirement import month_requirement, on_shift_hours_per_person, week_grid
from opsdesk.workforce.channels import Channel
from opsdesk.workforce.sites import parse_sites
from opsdesk.workforce.staffing import StaffingTargets

MONTHS = ["2027-01", "2027-02", "2027-03"]


def test_lives_move_with_renewals_the_weighted_pipeline_and_extra_growth() -> None:
    accounts = [BookAccount("SMB", 1_000), BookAccount("Enterprise", 10_000)]
    renewals = [EndingTerm("Enterprise", 10_000, date(2027, 1, 31), renewal_probability=0.9)]
    deals = [PipelineDeal("SMB", date(2027, 2, 10), arr_cents=60_000_00, probability=0.5, new_customer=True)]
    flat = forecast_lives(
        accounts, renewals, deals, MONTHS, annual_price_per_life_cents=60_00, extra_monthly_growth_pct=0
    )
    # January's last day is the term's last day: still in force. From February 10% of 10,000 leave;
    # the deal adds 0.5 x $60,000 / $60 = 500 lives from its close in February.
    assert flat["total"] == [11_000, 11_000 - 1_000 + 500, 10_500]
    assert flat["by_segment"] == {"Enterprise": [10_000, 9_000, 9_000], "SMB": [1_000, 1_500, 1_500]}
    assert flat["new_customer_lives_cumulative"] == [0, 500, 500]
    grown = forecast_lives(
        accounts, renewals, deals, MONTHS, annual_price_per_life_cents=60_00, extra_monthly_growth_pct=10
    )
    assert grown["total"] == pytest.approx([11_000 * 1.1, 10_500 * 1.21, 10_500 * 1.331], abs=0.2)


def test_contact_rate_and_weekly_profile_are_fitted_from_history() -> None:
    end = pd.Timestamp("2027-01-04 00:00", tz=UTC)  # a Monday
    index = pd.date_range(end - pd.Timedelta(days=21), end - pd.Timedelta(hours=1), freq="60min")
    values = np.where(index.hour == 15, 10.0, 0.0)  # ten contacts at 15:00 UTC every day
    fit = fit_channel(pd.Series(values, index=index), end=end, weeks=2, interval_minutes=60, lives=1_000)
    assert fit is not None
    assert fit.weekly_contacts == 70
    assert fit.per_life_week == pytest.approx(0.07)
    assert fit.profile.sum() == pytest.approx(1)
    assert fit.profile[15] == pytest.approx(1 / 7) and fit.profile[14] == 0  # Monday 15:00 UTC
    assert (
        fit_channel(pd.Series(0.0, index=index), end=end, weeks=2, interval_minutes=60, lives=1_000) is None
    )


def _sites(close: str = "18:00") -> object:
    hours = {day: [f"09:00-{close}"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return parse_sites(
        {
            "sites": [
                {
                    "name": "Dublin",
                    "timezone": "Europe/Dublin",
                    "opening_hours": hours,
                    "languages": ["en"],
                    "skills": ["L1"],
                    "headcount": 10,
                },
            ]
        }
    )


def test_requirement_grows_with_lives_and_work_outside_opening_hours_is_unserved() -> None:
    grid = week_grid(datetime(2027, 1, 4, tzinfo=UTC), 60)
    fit = fit_channel(
        pd.Series(1.0, index=pd.date_range("2026-12-21", periods=14 * 24, freq="60min", tz=UTC)),
        end=pd.Timestamp("2027-01-04", tz=UTC),
        weeks=2,
        interval_minutes=60,
        lives=100,
    )
    assert fit is not None
    targets = {
        Channel.PHONE: StaffingTargets(
            channel=Channel.PHONE, aht_seconds=600, interval_seconds=3600, shrinkage=0.2
        )
    }
    sites = _sites()
    small = month_requirement(grid, 100, {Channel.PHONE: fit}, targets, sites, rate_factor=1)  # type: ignore[arg-type]
    large = month_requirement(grid, 2_000, {Channel.PHONE: fit}, targets, sites, rate_factor=1)  # type: ignore[arg-type]
    assert small.volume["phone"].sum() == pytest.approx(168, abs=0.5)  # one contact an hour, as fitted
    assert large.agents["phone"].sum() > small.agents["phone"].sum()
    assert large.team_hours[("Dublin", "all")] > small.team_hours[("Dublin", "all")]
    # Dublin is open 9 of 24 hours in January (UTC+0): the other 15 hours' agents are unserved.
    served = small.split.required["required"].sum()
    unserved = small.split.unserved["required"].sum()
    assert served + unserved == small.agents["phone"].sum()
    assert served == pytest.approx(small.agents["phone"].sum() * 9 / 24, rel=0.01)
    longer = month_requirement(grid, 100, {Channel.PHONE: fit}, targets, _sites("22:00"), rate_factor=1)  # type: ignore[arg-type]
    assert longer.team_hours[("Dublin", "all")] > small.team_hours[("Dublin", "all")]
    # Default shifts: 8 h with a 30-minute break, at most 5 days (2 off) and 40 h: 5 x 7.5 h on duty.
    assert on_shift_hours_per_person(sites) == {"Dublin": 37.5}  # type: ignore[arg-type]


def test_a_team_far_above_need_hires_nobody_and_says_why() -> None:
    site = _sites().sites[0]  # type: ignore[attr-defined]
    need = [team_need(200, 40, 0.1)] * 6  # 200 h a week / 40 h / 90% present = 5.6 FTE
    assert need[0] == pytest.approx(5.556, abs=0.001)
    rows = hiring_rows(
        site,
        "all",
        need,
        headcount=30,
        attrition=0.05,
        lead_time=2,
        ramp=[0.5],
        salary_cents=1_200_000,
        label=lambda m: f"2027-{m + 1:02d}",
    )
    assert sum(row["hires"] for row in rows) == 0
    assert rows[0]["reason"].startswith("inside the lead time") and "short" not in rows[0]["reason"]
    assert all(row["reason"].startswith("no hire: by 2027-") for row in rows[2:])
    assert rows[0]["cost_cents"] == 30 * 100_000
    short = hiring_rows(
        site,
        "all",
        [12.0] * 6,
        headcount=10,
        attrition=0.05,
        lead_time=2,
        ramp=[0.5],
        salary_cents=0,
        label=lambda m: f"2027-{m + 1:02d}",
    )
    assert "2.0 FTE short now" in short[0]["reason"]
    assert short[2]["hires"] > 0 and short[2]["reason"].startswith(
        f"{short[2]['hires']} to start: by 2027-04"
    )


def test_compare_lines_scenarios_up_by_month_with_differences_from_the_first() -> None:
    def summary(hires: list[int]) -> dict[str, object]:
        return {
            "months": MONTHS,
            "lives": [1, 1, 1],
            "requirement_hours": [10, 11, 12],
            "need_fte": [1, 1, 1],
            "headcount": [1, 1, 1],
            "coverage_pct": [100.0, 90.0, None],
            "hires": hires,
            "cost_cents": [100, 100, 100],
            "schedule_covered_pct": 90.0,
            "total_hires": sum(hires),
            "total_cost_cents": 300,
        }

    table = compare([(1, "base", summary([0, 1, 0])), (2, "busier", summary([2, 1, 0]))])
    hires = next(m for m in table["measures"] if m["key"] == "hires")
    assert hires["rows"][0] == {"month": "2027-01", "values": [0, 2], "differences": [0, 2]}
    assert [s["name"] for s in table["scenarios"]] == ["base", "busier"]
    coverage = next(m for m in table["measures"] if m["key"] == "coverage_pct")
    assert coverage["rows"][2] == {"month": "2027-03", "values": [None, None], "differences": [None, None]}
