from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.arr import Term, anniversary, annual_value_cents, arr_on, arr_steps, daily_arr


def test_pepm_is_price_times_lives_times_twelve_and_flat_is_the_fee() -> None:
    assert annual_value_cents(
        price_model="pepm", pepm_cents=450, covered_lives=1000, flat_annual_cents=None
    ) == (5_400_000)
    assert (
        annual_value_cents(
            price_model="flat_annual", pepm_cents=None, covered_lives=None, flat_annual_cents=1_200_000
        )
        == 1_200_000
    )
    with pytest.raises(ValidationFailed):
        annual_value_cents(price_model="pepm", pepm_cents=None, covered_lives=10, flat_annual_cents=None)
    with pytest.raises(ValidationFailed):
        annual_value_cents(
            price_model="flat_annual", pepm_cents=None, covered_lives=None, flat_annual_cents=-1
        )


def test_three_year_term_escalates_compounded_at_each_anniversary() -> None:
    term = Term(1, 7, date(2024, 3, 1), date(2027, 2, 28), 100_001, Decimal("5"))
    steps = arr_steps([term])
    assert list(steps["cause"]) == ["start", "escalator", "escalator", "end"]
    # 100001 * 1.05 = 105001.05 -> 105001; * 1.05^2 = 110251.1025 -> 110251
    assert list(steps["delta_cents"]) == [100_001, 5_000, 5_250, -110_251]
    assert arr_on(steps, date(2024, 2, 29)) == {}
    assert arr_on(steps, date(2025, 2, 28)) == {7: 100_001}
    assert arr_on(steps, date(2025, 3, 1)) == {7: 105_001}
    assert arr_on(steps, date(2027, 2, 28)) == {7: 110_251}
    assert arr_on(steps, date(2027, 3, 1)) == {}


def test_an_amendment_keeps_the_original_anniversaries_and_its_end_is_marked() -> None:
    original = Term(1, 7, date(2024, 1, 1), date(2024, 6, 30), 100_000, Decimal(10), amended=True)
    amended = Term(
        2, 7, date(2024, 7, 1), date(2025, 12, 31), 200_000, Decimal(10), anniversary_base=date(2024, 1, 1)
    )
    steps = arr_steps([original, amended])
    rows = list(steps[["effective", "delta_cents", "cause"]].itertuples(index=False, name=None))
    assert [(d.date(), c, k) for d, c, k in rows] == [
        (date(2024, 1, 1), 100_000, "start"),
        (date(2024, 7, 1), -100_000, "amended"),
        (date(2024, 7, 1), 200_000, "start"),
        (date(2025, 1, 1), 20_000, "escalator"),
        (date(2026, 1, 1), -220_000, "end"),
    ]


def test_leap_day_anniversary_and_end_before_start() -> None:
    assert anniversary(date(2024, 2, 29), 1) == date(2025, 2, 28)
    with pytest.raises(ValidationFailed):
        arr_steps([Term(1, 1, date(2025, 1, 2), date(2025, 1, 1), 10)])


def test_daily_arr_covers_every_day() -> None:
    steps = arr_steps(
        [
            Term(1, 1, date(2025, 1, 2), date(2025, 1, 3), 365),
            Term(2, 2, date(2025, 1, 3), date(2025, 1, 9), 10),
        ]
    )
    daily = daily_arr(steps, date(2025, 1, 1), date(2025, 1, 4))
    assert daily[1].tolist() == [0, 365, 365, 0]
    assert daily[2].tolist() == [0, 0, 10, 10]
