"""The forecast maths checked by hand: a three-deal month, its exact distribution, category roll-ups,
overrides, and the accuracy of a past month."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from opsdesk.success.pipeline import forecast
from opsdesk.success.pipeline.probabilities import calibrate

NO_HISTORY = calibrate(pd.DataFrame())


def opps(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"kind": "expansion", "probability_pct": None, "category": None, "closed_on": None}
    frame = pd.DataFrame([{**base, **r} for r in rows], columns=forecast.OPPORTUNITY_COLUMNS)
    return frame.astype({"category": "object", "probability_pct": "object"})


def test_exact_distribution_of_three_independent_deals() -> None:
    # 100 w.p. .5, 200 w.p. .4, 300 w.p. .2 (all amounts in cents)
    dist = forecast.closed_amount_distribution([100, 200, 300], [0.5, 0.4, 0.2])
    got = dict(zip(dist.values.tolist(), dist.probabilities.round(6).tolist(), strict=True))
    # 0: .5*.6*.8=.24; 100: .5*.6*.8=.24; 200: .5*.4*.8=.16; 300: .5*.4*.8 + .5*.6*.2 = .16+.06=.22
    # 400: .5*.6*.2=.06; 500: .5*.4*.2=.04; 600: .5*.4*.2=.04
    assert got == {0: 0.24, 100: 0.24, 200: 0.16, 300: 0.22, 400: 0.06, 500: 0.04, 600: 0.04}
    assert dist.method == "exact"
    # CDF: .24 .48 .64 .86 .92 .96 1.0
    assert dist.percentile(0.10) == 0
    assert dist.percentile(0.50) == 200
    assert dist.percentile(0.90) == 400
    assert dist.mean == pytest.approx(100 * 0.5 + 200 * 0.4 + 300 * 0.2)


def test_three_deal_month_weighted_sum_and_range() -> None:
    frame = opps(
        [
            {
                "opportunity_id": 1,
                "amount_cents": 100_000,
                "stage": "negotiate",
                "close_date": date(2026, 4, 10),
                "probability_pct": 50,
            },
            {
                "opportunity_id": 2,
                "amount_cents": 200_000,
                "stage": "propose",
                "close_date": date(2026, 4, 20),
                "probability_pct": 40,
            },
            {
                "opportunity_id": 3,
                "amount_cents": 300_000,
                "stage": "qualify",
                "close_date": date(2026, 4, 30),
                "probability_pct": 20,
            },
            {
                "opportunity_id": 4,
                "amount_cents": 999_999,
                "stage": "negotiate",
                "close_date": date(2026, 5, 1),
            },
        ]
    )
    out = forecast.monthly_forecast(frame, NO_HISTORY, date(2026, 4, 1), date(2026, 4, 30))
    april = out.iloc[0]
    assert len(out) == 1 and april["month"] == date(2026, 4, 1)
    assert april["weighted"] == 50_000 + 80_000 + 60_000
    assert (april["p10"], april["p50"], april["p90"]) == (0, 200_000, 400_000)
    # default categories: negotiate -> commit, propose -> best case, qualify -> pipeline
    assert april["commit"] == 100_000 and april["best_case"] == 300_000 and april["open_pipeline"] == 600_000


def test_stage_probability_used_when_no_override_and_omitted_left_out() -> None:
    frame = opps(
        [
            {"opportunity_id": 1, "amount_cents": 1_000, "stage": "propose", "close_date": date(2026, 4, 3)},
            {
                "opportunity_id": 2,
                "amount_cents": 5_000,
                "stage": "negotiate",
                "close_date": date(2026, 4, 3),
                "category": "omitted",
            },
            {
                "opportunity_id": 3,
                "amount_cents": 7_000,
                "stage": "closed_won",
                "close_date": date(2026, 3, 30),
                "closed_on": date(2026, 4, 2),
            },
            {
                "opportunity_id": 4,
                "amount_cents": 2_000,
                "stage": "qualify",
                "close_date": date(2026, 4, 9),
                "category": "commit",
                "kind": "renewal",
            },
        ]
    )
    april = forecast.monthly_forecast(frame, NO_HISTORY, date(2026, 4, 1), date(2026, 4, 1)).iloc[0]
    # new-ARR propose default .40, renewal qualify default .80; closed won counts in full
    assert april["weighted"] == 7_000 + 400 + 1_600
    assert april["closed_won"] == 7_000
    assert april["commit"] == 7_000 + 2_000  # the manual commit wins over qualify's pipeline
    assert april["best_case"] == 9_000 + 1_000
    assert april["opportunities"] == 3
    assert april["p10"] >= 7_000  # the closed amount is certain


def test_large_pipelines_fall_back_to_a_seeded_sample() -> None:
    rng = np.random.default_rng(1)
    amounts = rng.integers(1, 10**9, size=40)
    probabilities = np.full(40, 0.5)
    first = forecast.closed_amount_distribution(amounts, probabilities, seed=3)
    again = forecast.closed_amount_distribution(amounts, probabilities, seed=3)
    assert first.method == "monte_carlo"
    assert first.percentile(0.5) == again.percentile(0.5)
    assert abs(first.mean - amounts.sum() / 2) < 0.02 * amounts.sum()


def test_bad_probabilities_are_refused() -> None:
    with pytest.raises(ValueError):
        forecast.closed_amount_distribution([1], [1.5])


def ts(day: date, hour: int = 9) -> pd.Timestamp:
    return pd.Timestamp(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))


def test_accuracy_of_a_past_month_uses_the_pipeline_as_it_stood_at_month_start() -> None:
    history = pd.DataFrame(
        [
            # deal 1: in negotiate (new ARR .60) on 1 Feb, won 10 Feb for 10,000
            (1, "expansion", ts(date(2026, 1, 5)), "negotiate", 10_000, date(2026, 2, 15), None, None),
            (1, "expansion", ts(date(2026, 2, 10)), "closed_won", 10_000, date(2026, 2, 15), None, None),
            # deal 2: propose with a 50 % override on 1 Feb, lost in February
            (2, "upsell", ts(date(2026, 1, 20)), "propose", 20_000, date(2026, 2, 25), 50, None),
            (2, "upsell", ts(date(2026, 2, 20)), "closed_lost", 20_000, date(2026, 2, 25), 50, None),
            # deal 3: created after 1 Feb, so not in the forecast, but it closed won in February
            (3, "expansion", ts(date(2026, 2, 3)), "qualify", 5_000, date(2026, 2, 28), None, None),
            (3, "expansion", ts(date(2026, 2, 26)), "closed_won", 5_000, date(2026, 2, 28), None, None),
        ],
        columns=[
            "opportunity_id",
            "kind",
            "at",
            "stage",
            "amount_cents",
            "close_date",
            "probability_pct",
            "category",
        ],
    ).astype({"category": "object", "probability_pct": "object"})
    won = pd.DataFrame({"amount_cents": [10_000, 5_000], "closed_on": [date(2026, 2, 10), date(2026, 2, 26)]})
    months = forecast.past_forecasts(history, won, date(2026, 2, 1), date(2026, 3, 31))
    # Feb: .60 * 10,000 + .50 * 20,000 = 16,000 against 15,000 closed; March: nothing either way
    assert months.to_dict("records") == [
        {"month": date(2026, 2, 1), "forecast": 16_000, "actual": 15_000},
        {"month": date(2026, 3, 1), "forecast": 0, "actual": 0},
    ]
    detail, summary = forecast.accuracy(months)
    assert detail["error"].tolist() == [1_000, 0]
    assert summary["mape"] == pytest.approx(1_000 / 15_000)
    assert summary["bias"] == pytest.approx(1_000 / 15_000)
    assert summary["wape"] == pytest.approx(1_000 / 15_000)


def test_accuracy_summary_signs() -> None:
    months = pd.DataFrame(
        {"month": [date(2026, 1, 1), date(2026, 2, 1)], "forecast": [80, 150], "actual": [100, 100]}
    )
    _detail, summary = forecast.accuracy(months)
    assert summary["mape"] == pytest.approx((0.2 + 0.5) / 2)
    assert summary["bias"] == pytest.approx(30 / 200)
    assert summary["wape"] == pytest.approx(70 / 200)
