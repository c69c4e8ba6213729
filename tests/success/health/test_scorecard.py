"""Weighted scores, re-weighting around missing measures, bands and scorecard choice."""

from __future__ import annotations

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.health.scorecard import (
    Band,
    ScorecardChoice,
    Thresholds,
    band_of,
    choose_scorecard,
    validate_thresholds,
    validate_weights,
    weighted_score,
    whole_weights,
)


def test_score_is_the_weighted_mean_and_contributions_add_up() -> None:
    result = weighted_score({"utilisation": 80, "nps": 40}, {"utilisation": 75, "nps": 25})
    assert result.score == pytest.approx(70.0)
    by = {c.measure: c for c in result.contributions}
    assert by["utilisation"].contribution == pytest.approx(60.0)
    assert by["nps"].contribution == pytest.approx(10.0)
    assert sum(c.contribution for c in result.contributions) == pytest.approx(result.score)


def test_a_missing_measure_drops_out_and_the_others_are_reweighted() -> None:
    weights = {"utilisation": 50, "nps": 25, "payment_status": 25}
    result = weighted_score({"utilisation": 60, "nps": None, "payment_status": 100}, weights)
    # 60 * 50/75 + 100 * 25/75
    assert result.score == pytest.approx(73.333, abs=1e-3)
    by = {c.measure: c for c in result.contributions}
    assert by["nps"].effective_weight == 0 and by["nps"].contribution == 0
    assert by["utilisation"].effective_weight == pytest.approx(66.667, abs=1e-3)
    assert weighted_score({"utilisation": None}, {"utilisation": 100}).score is None


def test_too_little_known_gives_no_score() -> None:
    weights = {"utilisation": 25, "escalations": 10, "nps": 65}
    thin = weighted_score({"utilisation": None, "escalations": 100, "nps": None}, weights)
    assert thin.score is None  # 10 % of the weight is known
    assert {c.measure: c.value for c in thin.contributions}["escalations"] == 100
    enough = weighted_score({"utilisation": 20, "escalations": 100, "nps": None}, weights)
    assert enough.score == pytest.approx((20 * 25 + 100 * 10) / 35)  # 35 % known


def test_bands_at_the_default_and_custom_thresholds() -> None:
    assert band_of(49.99) is Band.RED
    assert band_of(50) is Band.AMBER
    assert band_of(74.9) is Band.AMBER
    assert band_of(75) is Band.GREEN
    assert band_of(None) is None
    assert band_of(65, Thresholds(40, 60)) is Band.GREEN
    with pytest.raises(ValidationFailed):
        validate_thresholds(80, 60)


def test_weights_must_be_known_whole_and_sum_to_100() -> None:
    assert validate_weights({"utilisation": 60, "nps": 40}) == {"utilisation": 60, "nps": 40}
    with pytest.raises(ValidationFailed, match="sum to 100"):
        validate_weights({"utilisation": 60, "nps": 30})
    with pytest.raises(ValidationFailed, match="unknown measure"):
        validate_weights({"logins": 100})
    with pytest.raises(ValidationFailed, match="whole number"):
        validate_weights({"utilisation": 50.5, "nps": 49.5})  # type: ignore[dict-item]


def test_the_most_specific_matching_scorecard_wins() -> None:
    cards = [
        ScorecardChoice(1, "Default", None, None, 1000),
        ScorecardChoice(2, "Enterprise", 5, None, 100),
        ScorecardChoice(3, "Onboarding", None, "implementation", 100),
        ScorecardChoice(4, "Enterprise onboarding", 5, "implementation", 100),
    ]
    assert choose_scorecard(cards, segment_id=5, stage="implementation").name == "Enterprise onboarding"
    assert choose_scorecard(cards, segment_id=5, stage="adoption").name == "Enterprise"
    assert choose_scorecard(cards, segment_id=2, stage="implementation").name == "Onboarding"
    assert choose_scorecard(cards, segment_id=None, stage="renewal").name == "Default"
    assert choose_scorecard(cards[1:2], segment_id=2, stage="renewal") is None


def test_whole_weights_sum_to_100_by_largest_remainder() -> None:
    assert whole_weights({"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert whole_weights({"a": 3.0, "b": 0.0, "c": -1.0}) == {"a": 100, "b": 0, "c": 0}
    with pytest.raises(ValueError):
        whole_weights({"a": 0.0})
