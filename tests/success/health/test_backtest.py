"""The backtest on synthetic histories where the answer is known."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from opsdesk.success.health.backtest import auc, backtest, fit_shares, lift_at, scores_with


def test_auc_matches_hand_counted_pairs_with_ties_counting_half() -> None:
    # positives at risk 3 and 1; negatives at 2 and 1: pairs (3>2, 3>1, 1<2, 1=1) -> (1 + 1 + 0 + 0.5) / 4
    assert auc([3, 1, 2, 1], [True, True, False, False]) == pytest.approx(0.625)
    assert auc([1, 2, 3], [False, False, True]) == 1.0
    assert auc([1, 2, 3], [True, False, False]) == 0.0
    assert auc([1, 2], [True, True]) is None


def test_lift_in_the_riskiest_decile() -> None:
    risk = np.arange(100, dtype=float)
    labels = risk >= 90  # the ten riskiest churn, nobody else
    assert lift_at(risk, labels) == pytest.approx(10.0)
    assert lift_at(np.ones(100), labels) == pytest.approx(1.0)  # all tied: the slice is average
    assert lift_at(risk, np.zeros(100, dtype=bool)) is None


def _history(n: int = 800, seed: int = 7) -> tuple[np.ndarray, np.ndarray, list[date]]:
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.2
    perfect = np.where(labels, rng.uniform(0, 40, n), rng.uniform(60, 100, n))
    noise = rng.uniform(0, 100, (n, 2))
    values = np.column_stack([perfect, noise])
    values[rng.random(n) < 0.1, 1] = np.nan  # missing values do not upset the fit
    dates = [date(2025, 1, 1) + timedelta(days=30 * (i % 12)) for i in range(n)]
    return values, labels, dates


def test_a_perfect_measure_gets_auc_one_and_the_weight_random_ones_half() -> None:
    values, labels, dates = _history()
    scores = scores_with(values, [20, 40, 40])  # a scorecard that mostly weighs noise
    result = backtest(
        scores=scores, values=values, labels=labels, measures=["usage", "noise_a", "noise_b"], dates=dates
    )
    assert result.measure_auc["usage"] == 1.0
    assert result.measure_auc["noise_a"] == pytest.approx(0.5, abs=0.07)
    assert result.measure_auc["noise_b"] == pytest.approx(0.5, abs=0.07)
    assert 0.5 < result.auc < 0.9  # the noisy weighting blurs a perfect signal
    assert result.suggested_weights is not None
    assert result.suggested_weights["usage"] >= 90
    assert sum(result.suggested_weights.values()) == 100
    assert result.suggested_auc == pytest.approx(1.0, abs=0.01)
    assert result.holdout_auc is not None and result.holdout_auc > 0.98
    assert result.coverage["noise_a"] == pytest.approx(0.9, abs=0.04)
    assert result.lift_top_decile is not None and 1.0 < result.lift_top_decile < 1 / result.base_rate
    # Ranked by the perfect measure alone, the riskiest decile is all churners.
    assert lift_at(100 - values[:, 0], labels) == pytest.approx(1 / result.base_rate)


def test_pure_noise_suggests_no_weights_or_spreads_them_thin() -> None:
    rng = np.random.default_rng(3)
    labels = rng.random(400) < 0.3
    values = rng.uniform(0, 100, (400, 3))
    shares = fit_shares(values, labels, l2=50.0)
    assert shares is None or shares.max() < 0.5
    result = backtest(
        scores=values.mean(axis=1),
        values=values,
        labels=labels,
        measures=["a", "b", "c"],
        dates=[date(2025, 1, 1)] * 400,
    )
    assert result.auc == pytest.approx(0.5, abs=0.08)
    assert result.holdout_auc is None  # one snapshot date: no later period to hold out


def test_a_measure_that_counts_backwards_gets_no_weight() -> None:
    rng = np.random.default_rng(11)
    labels = rng.random(500) < 0.25
    backwards = np.where(labels, rng.uniform(70, 100, 500), rng.uniform(0, 60, 500))  # high = churn
    helpful = np.where(labels, rng.uniform(0, 60, 500), rng.uniform(30, 100, 500))
    shares = fit_shares(np.column_stack([backwards, helpful]), labels)
    assert shares is not None
    assert shares[0] == 0 and shares[1] > 0


def test_unscored_snapshots_are_left_out() -> None:
    values, labels, dates = _history(200)
    scores = scores_with(values, [100, 0, 0])
    scores[:10] = np.nan
    result = backtest(
        scores=scores, values=values, labels=labels, measures=["u", "a", "b"], dates=dates, suggest=False
    )
    assert result.snapshots == 190
    assert result.suggested_weights is None
    assert any("10 snapshots" in note for note in result.notes)


def test_scores_with_matches_the_scorecards_reweighting() -> None:
    values = np.array([[80.0, np.nan, 40.0], [np.nan, np.nan, 10.0], [60.0, 20.0, 100.0]])
    scores = scores_with(values, [50, 30, 20])
    assert scores[0] == pytest.approx((80 * 50 + 40 * 20) / 70)
    assert np.isnan(scores[1])  # 20 % of the weight known: no score
    assert scores[2] == pytest.approx((60 * 50 + 20 * 30 + 100 * 20) / 100)
