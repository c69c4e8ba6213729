"""Utilisation trend maths on hand-made months."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from opsdesk.success.utilisation import (
    FRAME_COLUMNS,
    account_trends,
    completed_months,
    direction,
    latest_rates,
    monthly_slope,
    segment_trend,
    with_rates,
)


def frame(rows: list[tuple[int, date, int, int, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def months(account: int, lives: int, engaged: list[int], start: int = 1) -> list:
    return [(account, date(2026, start + i, 1), e, e * 2, 10.0 + i, lives) for i, e in enumerate(engaged)]


def test_rates_leave_zero_denominators_unknown() -> None:
    jan = date(2026, 1, 1)
    rated = with_rates(frame([(1, jan, 50, 100, 5.0, 1000), (2, jan, 0, 0, 0.0, 0)]))
    assert rated.loc[0, "engaged_rate_pct"] == pytest.approx(5.0)
    assert rated.loc[0, "sessions_per_engaged"] == pytest.approx(2.0)
    assert np.isnan(rated.loc[1, "engaged_rate_pct"]) and np.isnan(rated.loc[1, "sessions_per_engaged"])


def test_slope_is_points_per_month_across_a_year_end() -> None:
    stamps = pd.Series([date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)])
    assert monthly_slope(stamps, pd.Series([10.0, 11.0, 12.0, 13.0])) == pytest.approx(1.0)
    assert monthly_slope(stamps[:1], pd.Series([10.0])) is None
    assert direction(1.0) == "up" and direction(-1.0) == "down" and direction(0.1) == "flat"
    assert direction(None) is None


def test_account_trends_use_completed_months_only() -> None:
    data = frame(
        months(1, 1000, [100, 90, 80, 70, 60])  # Jan..May 2026, falling 1 point a month
        + months(2, 200, [10, 12, 14, 16, 18])  # rising 1 point a month
    )
    # As of 15 May, May is in progress: Jan..Apr count.
    trends = account_trends(data, as_of=date(2026, 5, 15), months=6).set_index("account_id")
    assert trends.loc[1, "latest_month"] == date(2026, 4, 1)
    assert trends.loc[1, "engaged_rate_pct"] == pytest.approx(7.0)
    assert trends.loc[1, "change_pp"] == pytest.approx(-3.0)
    assert trends.loc[1, "slope_pp_per_month"] == pytest.approx(-1.0)
    assert trends.loc[1, "direction"] == "down"
    assert trends.loc[2, "direction"] == "up"
    assert trends.loc[1, "months"] == 4
    assert len(completed_months(data, date(2026, 5, 15), 2)) == 4  # Mar and Apr for both
    assert account_trends(data, as_of=date(2026, 1, 10)).empty


def test_segment_trend_weighs_accounts_by_covered_lives() -> None:
    data = frame(
        [
            (1, date(2026, 1, 1), 100, 300, 20.0, 1000),  # 10 % of 1,000
            (2, date(2026, 1, 1), 50, 50, 50.0, 100),  # 50 % of 100
            (3, date(2026, 1, 1), 5, 5, 10.0, 10),
        ]
    )
    trend = segment_trend(data, {1: "Large", 2: "Large", 3: None}).set_index("segment")
    assert trend.loc["Large", "engaged_rate_pct"] == pytest.approx(150 / 1100 * 100)
    assert trend.loc["Large", "programme_uptake_pct"] == pytest.approx((20 * 1000 + 50 * 100) / 1100)
    assert trend.loc["Large", "accounts"] == 2
    assert trend.loc["(none)", "sessions"] == 5
    assert segment_trend(data.iloc[0:0], {}).empty


def test_latest_rates_take_each_accounts_last_completed_month_with_lives() -> None:
    data = frame(months(1, 1000, [100, 90, 80]) + months(2, 0, [5, 5, 5]) + months(3, 100, [7], start=1))
    # As of 10 Mar: Jan and Feb are complete; account 2 has no covered lives; account 3 only reported Jan.
    assert latest_rates(data, as_of=date(2026, 3, 10), months=3) == pytest.approx({1: 9.0, 3: 7.0})
    assert latest_rates(data, as_of=date(2026, 6, 10), months=1) == {}
