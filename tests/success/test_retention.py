from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.success import retention
from opsdesk.success.arr import Term, arr_on, arr_steps
from opsdesk.success.movements import classify
from tests.success import scenario


def _one(frame: pd.DataFrame, group: str = "all") -> dict:
    rows = frame[frame["group"] == group].to_dict(orient="records")
    assert len(rows) == 1
    return rows[0]


def test_bridge_grr_nrr_and_logo_churn_match_the_hand_computed_book() -> None:
    row = _one(retention.bridge(scenario.movements(), scenario.customers(), [scenario.PERIOD]))
    assert {k: row[k] for k in retention.AMOUNT_LINES} == {
        "start_arr": 560_000,
        "new": 40_000,  # C4, excluded from NRR
        "reactivation": 35_000,  # C6 returned after churning in an earlier period, excluded from NRR
        "expansion": 30_000,  # C1's mid-period price change
        "escalator": 5_000,  # C3, not expansion
        "contraction": 35_000,  # C5 churned and came back smaller, C8 amended down
        "churn": 200_000,  # C2 only: C5 came back within the period, C7's children rolled up
        "end_arr": 435_000,
    }
    assert (row["customers_start"], row["customers_lost"], row["customers_new"]) == (6, 1, 2)
    assert row["grr"] == pytest.approx(float(Fraction(325, 560)))
    assert row["nrr"] == pytest.approx(float(Fraction(360, 560)))
    assert row["logo_churn"] == pytest.approx(1 / 6)


def test_by_segment_each_group_bridges_on_its_own() -> None:
    frame = retention.bridge(scenario.movements(), scenario.customers(), [scenario.PERIOD], "segment")
    a, b = _one(frame, "A"), _one(frame, "B")
    assert (a["start_arr"], a["expansion"], a["contraction"], a["churn"], a["end_arr"]) == (
        450_000, 30_000, 20_000, 200_000, 260_000,
    )  # fmt: skip
    assert a["grr"] == pytest.approx(230 / 450) and a["nrr"] == pytest.approx(260 / 450)
    assert a["logo_churn"] == pytest.approx(1 / 4)
    assert (b["start_arr"], b["new"], b["reactivation"], b["escalator"], b["contraction"], b["end_arr"]) == (
        110_000, 40_000, 35_000, 5_000, 15_000, 175_000,
    )  # fmt: skip
    assert b["grr"] == pytest.approx(95 / 110) and b["nrr"] == pytest.approx(100 / 110)


def test_grr_is_capped_at_one_hundred_percent_while_nrr_shows_the_growth() -> None:
    steps = arr_steps(
        [
            Term(1, 1, date(2024, 1, 1), date(2025, 6, 30), 100_000, amended=True),
            Term(2, 1, date(2025, 7, 1), date(2026, 12, 31), 150_000, anniversary_base=date(2024, 1, 1)),
        ]
    )
    row = _one(retention.bridge(classify(steps), pd.DataFrame({"customer_id": [1]}), [scenario.PERIOD]))
    assert row["grr"] == 1.0
    assert row["nrr"] == 1.5


def test_a_churn_and_return_inside_the_period_nets_out_but_across_periods_is_reactivation() -> None:
    moves, customers = scenario.movements(), scenario.customers()
    whole_year = retention.bridge(moves[moves["customer_id"] == 5], customers, [scenario.PERIOD])
    assert _one(whole_year)["customers_lost"] == 0 and _one(whole_year)["contraction"] == 20_000
    # Month by month C5 is lost in April (its term ended 31 March) and returns in June as a reactivation.
    months = retention.monthly_periods(date(2025, 4, 1), date(2025, 6, 30))
    april, may, june = retention.bridge(moves[moves["customer_id"] == 5], customers, months).to_dict(
        "records"
    )
    assert (april["start_arr"], april["churn"], april["customers_lost"], april["end_arr"]) == (
        80_000,
        80_000,
        1,
        0,
    )
    assert (may["start_arr"], may["end_arr"]) == (0, 0)
    assert (june["new"], june["reactivation"], june["customers_new"], june["start_arr"]) == (0, 60_000, 1, 0)
    assert math.isnan(june["nrr"])  # no starting customers: not a ratio


def test_monthly_bridges_chain_end_to_start() -> None:
    months = retention.monthly_periods(date(2025, 1, 1), date(2025, 12, 31))
    frame = retention.bridge(scenario.movements(), scenario.customers(), months)
    assert len(frame) == 12
    assert frame["start_arr"].iloc[0] == 560_000 and frame["end_arr"].iloc[-1] == 435_000
    assert (frame["start_arr"].iloc[1:].to_numpy() == frame["end_arr"].iloc[:-1].to_numpy()).all()
    lines = (
        frame["start_arr"] + frame["new"] + frame["reactivation"] + frame["expansion"] + frame["escalator"]
    )
    assert (lines - frame["contraction"] - frame["churn"] == frame["end_arr"]).all()


def test_cohort_grouping_uses_the_start_quarter() -> None:
    frame = retention.bridge(scenario.movements(), scenario.customers(), [scenario.PERIOD], "cohort")
    assert set(frame["group"]) == {"2023Q1", "2024Q1", "2024Q2", "2025Q1"}
    assert _one(frame, "2024Q2")["churn"] == 200_000  # C2 started in June 2024


def test_trailing_twelve_months_measures_last_years_customers_now() -> None:
    row = _one(retention.trailing_nrr(scenario.movements(), scenario.customers(), date(2025, 12, 31)))
    assert (row["customers"], row["arr_then"], row["arr_now"]) == (6, 560_000, 360_000)


def test_renewal_base_view_reads_only_the_arr_that_came_up_for_renewal() -> None:
    row = _one(retention.renewal_retention(scenario.movements(), scenario.customers(), *scenario.PERIOD))
    # C1 flat renewal 100k, C2 lost 200k, C5 lost 80k (its return is later), C7 70k renewed in a child.
    assert (row["renewals"], row["renewals_lost"], row["renewal_base"], row["renewed_net"]) == (
        4, 2, 450_000, 170_000,
    )  # fmt: skip
    assert row["grr"] == pytest.approx(170 / 450)


def test_renewal_view_of_a_period_with_movements_but_no_renewal_due_is_empty() -> None:
    movements = scenario.movements()
    new_business = movements[movements["kind"] == "new_business"].head(1)
    day = new_business["effective"].iloc[0]
    frame = retention.renewal_retention(new_business, scenario.customers(), day, day)
    assert frame.empty and list(frame.columns)[:2] == ["group", "renewals"]


def test_cohort_table_net_and_gross_dollar_retention_by_month() -> None:
    steps = arr_steps(
        [
            Term(1, 1, date(2025, 1, 15), date(2025, 2, 28), 100_000, amended=True),
            Term(2, 1, date(2025, 3, 1), date(2025, 12, 31), 120_000, anniversary_base=date(2025, 1, 15)),
            Term(3, 2, date(2025, 1, 20), date(2025, 2, 28), 100_000),
            Term(4, 3, date(2025, 2, 1), date(2025, 12, 31), 50_000),
        ]
    )
    table = retention.cohort_table(classify(steps), date(2025, 3, 31))
    jan = table[table["cohort"] == "2025-01"].set_index("month")
    assert jan["base_arr"].tolist() == [200_000, 200_000, 200_000]
    assert jan["arr"].tolist() == [200_000, 200_000, 120_000]
    assert jan["ndr"].tolist() == [1.0, 1.0, 0.6]
    assert jan["gdr"].tolist() == [1.0, 1.0, 0.5]  # the expansion of customer 1 is not counted
    feb = table[table["cohort"] == "2025-02"]
    assert feb["month"].tolist() == [0, 1] and feb["ndr"].tolist() == [1.0, 1.0]


def test_periods_must_be_contiguous() -> None:
    with pytest.raises(ValueError):
        retention.bridge(
            scenario.movements(),
            scenario.customers(),
            [(date(2025, 1, 1), date(2025, 1, 31)), (date(2025, 3, 1), date(2025, 3, 31))],
        )


@st.composite
def books(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[int, int]]:
    """Random contracts for a handful of accounts, some of them children of others."""
    terms = []
    for sub_id in range(draw(st.integers(1, 12))):
        start = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 800)))
        end = start + timedelta(days=draw(st.integers(0, 900)))
        pct = Decimal(draw(st.sampled_from([0, 0, 3, 7])))
        terms.append(Term(sub_id, draw(st.integers(1, 6)), start, end, draw(st.integers(1, 10**7)), pct))
    parents = draw(st.dictionaries(st.sampled_from([4, 5, 6]), st.sampled_from([1, 2, 3]), max_size=3))
    return arr_steps(terms), parents


@settings(max_examples=40, deadline=None)
@given(books(), st.integers(0, 700), st.sampled_from([1, 2, 3, 6]))
def test_any_book_bridges_and_many_periods_agree_with_one_at_a_time(
    book: tuple[pd.DataFrame, dict[int, int]], offset: int, months: int
) -> None:
    steps, parents = book
    moves = classify(steps, parents)
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6], "segment": ["x", "y", "x", "y", "x", "y"]})
    first = date(2024, 1, 1) + timedelta(days=offset)
    periods = retention.monthly_periods(first, first + timedelta(days=31 * months - 1))
    together = retention.bridge(moves, customers, periods, "segment")
    lines = together["start_arr"] + together["new"] + together["reactivation"] + together["expansion"]
    assert (
        lines + together["escalator"] - together["contraction"] - together["churn"] == together["end_arr"]
    ).all()
    assert (together[["new", "expansion", "escalator", "contraction", "churn"]] >= 0).all().all()
    assert (together["grr"].dropna() <= 1.0).all() and (together["grr"].dropna() >= 0.0).all()
    # The ending ARR agrees with ARR read straight from the contracts.
    assert together[together["period_end"] == pd.Timestamp(periods[-1][1])]["end_arr"].sum() == sum(
        arr_on(steps, periods[-1][1]).values()
    )
    for period in periods:
        alone = retention.bridge(moves, customers, [period], "segment").set_index("group")
        same = together[together["period_start"] == pd.Timestamp(period[0])].set_index("group")
        pd.testing.assert_frame_equal(alone, same.loc[alone.index], check_exact=True)


def test_customers_whose_arr_runs_past_the_data_are_kept_apart() -> None:
    moves = pd.DataFrame(
        {
            "customer_id": [1, 2, 2],
            "effective": pd.to_datetime(["2024-01-01", "2025-02-01", "2025-03-01"]),
            "kind": ["new_business", "new_business", "expansion"],
            "amount_cents": [100, 50, 25],
        }
    )
    frame = retention.bridge(moves, pd.DataFrame({"customer_id": [1, 2]}), [scenario.PERIOD])
    row = _one(frame)
    assert (row["start_arr"], row["new"], row["expansion"], row["end_arr"]) == (100, 75, 0, 175)
    assert (row["customers_start"], row["customers_new"], row["nrr"]) == (1, 1, 1.0)
