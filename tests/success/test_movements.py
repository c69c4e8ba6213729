from __future__ import annotations

from datetime import date

import pandas as pd

from opsdesk.success.arr import Term, arr_steps
from opsdesk.success.movements import classify
from tests.success import scenario


def _rows(frame: pd.DataFrame, customer: int) -> list[tuple[date, str, int, int, int]]:
    part = frame[frame["customer_id"] == customer]
    return [
        (r.effective.date(), r.kind, r.amount_cents, r.arr_after_cents, r.renewal_base_cents)
        for r in part.itertuples(index=False)
    ]


def test_each_change_is_classified_and_renewal_base_is_recorded_once() -> None:
    moves = scenario.movements()
    assert _rows(moves, 1) == [
        (date(2024, 1, 1), "new_business", 100_000, 100_000, 0),
        (date(2025, 1, 1), "renewal", 0, 100_000, 100_000),  # flat renewal leaves a trace
        (date(2025, 7, 1), "expansion", 30_000, 130_000, 0),  # amendment: not up for renewal
        (date(2026, 1, 1), "churn", -130_000, 0, 130_000),
    ]
    assert _rows(moves, 3)[1] == (date(2025, 1, 1), "escalator", 5_000, 55_000, 0)
    assert [r[1] for r in _rows(moves, 6)] == ["new_business", "churn", "reactivation", "churn"]


def test_revenue_moving_between_children_of_one_parent_is_not_churn_and_new() -> None:
    moves = scenario.movements()
    assert set(moves["customer_id"]) == {1, 2, 3, 4, 5, 6, 7, 8}
    assert _rows(moves, 7) == [
        (date(2024, 1, 1), "new_business", 70_000, 70_000, 0),
        (date(2025, 9, 1), "renewal", 0, 70_000, 70_000),
        (date(2026, 9, 1), "churn", -70_000, 0, 70_000),
    ]
    # Without the roll-up the same contracts read as a churn and a new customer.
    alone = classify(arr_steps(scenario.terms()))
    assert _rows(alone, 71)[-1][1] == "churn" and _rows(alone, 72)[0][1] == "new_business"


def test_renewal_with_uplift_and_escalator_on_the_same_day_are_separate_movements() -> None:
    from decimal import Decimal

    steps = arr_steps(
        [
            Term(1, 1, date(2024, 1, 1), date(2024, 12, 31), 100_000),
            Term(2, 1, date(2024, 1, 1), date(2025, 12, 31), 10_000, Decimal(10)),
            Term(3, 1, date(2025, 1, 1), date(2025, 12, 31), 90_000),
        ]
    )
    assert _rows(classify(steps), 1)[1:4] == [
        (date(2025, 1, 1), "renewal", 0, 101_000, 100_000),
        (date(2025, 1, 1), "contraction", -10_000, 101_000, 0),
        (date(2025, 1, 1), "escalator", 1_000, 101_000, 0),
    ]
