"""Golden review scores, computed by hand from Zendesk QA's published formulas."""

from __future__ import annotations

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.quality.scoring import CategoryRule, Scale, category_score, iqs, review_score


@pytest.mark.parametrize(
    ("scale", "selected", "expected"),
    [
        (Scale.BINARY, 0, 0.0),
        (Scale.BINARY, 1, 100.0),
        (Scale.ONE_TO_THREE, 1, 0.0),
        (Scale.ONE_TO_THREE, 2, 50.0),
        (Scale.ONE_TO_THREE, 3, 100.0),
        (Scale.ONE_TO_FOUR, 2, 100 / 3),
        (Scale.ONE_TO_FOUR, 3, 200 / 3),
        (Scale.ONE_TO_FIVE, 2, 25.0),
        (Scale.ONE_TO_FIVE, 4, 75.0),
        (Scale.ONE_TO_FIVE, 5, 100.0),
    ],
)
def test_category_score_on_every_scale(scale: Scale, selected: int, expected: float) -> None:
    assert category_score(scale, selected) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scale", "selected"), [(Scale.BINARY, 2), (Scale.ONE_TO_FIVE, 0), (Scale.ONE_TO_FOUR, 5)]
)
def test_a_rating_off_the_scale_is_refused(scale: Scale, selected: int) -> None:
    with pytest.raises(ValidationFailed):
        category_score(scale, selected)


RUBRIC = [
    CategoryRule("solution", Scale.ONE_TO_FIVE, weight=50),
    CategoryRule("tone", Scale.ONE_TO_FOUR, weight=20, allow_na=True),
    CategoryRule("grammar", Scale.ONE_TO_THREE, weight=10, allow_na=True),
    CategoryRule("verified_identity", Scale.BINARY, weight=5, critical=True, allow_na=True),
]


def test_weighted_mean_of_rated_categories() -> None:
    # solution 4/5 -> 75, tone 3/4 -> 66.67, grammar 2/3 -> 50, identity yes -> 100
    # (75*50 + 66.667*20 + 50*10 + 100*5) / 85 = (3750 + 1333.33 + 500 + 500) / 85 = 71.5686
    score = review_score(RUBRIC, {"solution": 4, "tone": 3, "grammar": 2, "verified_identity": 1})
    assert score == pytest.approx(6083.3333 / 85, abs=1e-3)
    assert score == pytest.approx(71.5686, abs=1e-3)


def test_na_categories_are_left_out_of_the_mean() -> None:
    # tone and grammar N/A: (75*50 + 100*5) / 55 = 4250 / 55 = 77.2727
    score = review_score(RUBRIC, {"solution": 4, "tone": None, "grammar": None, "verified_identity": 1})
    assert score == pytest.approx(77.2727, abs=1e-3)


def test_a_critical_failure_makes_the_review_zero() -> None:
    assert review_score(RUBRIC, {"solution": 5, "tone": 4, "grammar": 3, "verified_identity": 0}) == 0.0


def test_a_critical_category_at_na_does_not_fail() -> None:
    # (100*50 + 100*20 + 100*10) / 80 = 100
    assert review_score(RUBRIC, {"solution": 5, "tone": 4, "grammar": 3, "verified_identity": None}) == 100.0


def test_critical_at_exactly_fifty_passes_and_below_fails() -> None:
    rules = [
        CategoryRule("a", Scale.ONE_TO_THREE, weight=1, critical=True),
        CategoryRule("b", Scale.ONE_TO_FIVE),
    ]
    assert review_score(rules, {"a": 2, "b": 5}) == pytest.approx(75.0)  # (50 + 100) / 2
    rules4 = [
        CategoryRule("a", Scale.ONE_TO_FOUR, weight=1, critical=True),
        CategoryRule("b", Scale.ONE_TO_FIVE),
    ]
    assert review_score(rules4, {"a": 2, "b": 5}) == 0.0  # 33.3% < 50%


def test_na_where_not_allowed_or_a_missing_or_unknown_category_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="solution may not be N/A"):
        review_score(RUBRIC, {"solution": None, "tone": 3, "grammar": 2, "verified_identity": 1})
    with pytest.raises(ValidationFailed, match="grammar is not rated"):
        review_score(RUBRIC, {"solution": 3, "tone": 3, "verified_identity": 1})
    with pytest.raises(ValidationFailed, match="not in this rubric: empathy"):
        review_score(RUBRIC, {"solution": 3, "tone": 3, "grammar": 2, "verified_identity": 1, "empathy": 1})


def test_a_review_with_everything_na_has_no_score_and_is_left_out_of_iqs() -> None:
    rules = [CategoryRule("a", Scale.ONE_TO_FIVE, allow_na=True)]
    assert review_score(rules, {"a": None}) is None
    # Zendesk QA's own example: (100 + 9.91 + 63.96 + 90.99 + 0) / 5 = 52.972
    assert iqs([100.0, 9.91, 63.96, 90.99, 0.0, None]) == pytest.approx(52.972)
    assert iqs([None]) is None
    assert iqs([]) is None
