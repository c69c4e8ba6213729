"""Krippendorff's alpha against the published worked example and an independent implementation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.quality.agreement import Level, krippendorff_alpha, outliers, share_within

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), section D: 4 observers x 12
# units with missing values (None).
_ = None
WORKED_EXAMPLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]


@pytest.mark.parametrize(
    ("level", "published"),
    [(Level.NOMINAL, 0.743), (Level.ORDINAL, 0.815), (Level.INTERVAL, 0.849), (Level.RATIO, 0.797)],
)
def test_worked_example_matches_the_published_alphas(level: Level, published: float) -> None:
    alpha = krippendorff_alpha(WORKED_EXAMPLE, level)
    assert alpha is not None
    assert round(alpha, 3) == published


def test_perfect_agreement_is_one_and_undefined_cases_are_none() -> None:
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 3]], Level.INTERVAL) == pytest.approx(1.0)
    assert krippendorff_alpha([[1, 1], [1, 1]], Level.NOMINAL) is None  # no variation: D_e = 0
    assert krippendorff_alpha([[1, _], [_, 2]], Level.NOMINAL) is None  # nothing pairable


_ratings = st.lists(
    st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=5)), min_size=6, max_size=6),
    min_size=2,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(data=_ratings, level=st.sampled_from(list(Level)))
def test_agrees_with_the_krippendorff_package(data: list[list[int | None]], level: Level) -> None:
    import numpy as np

    krippendorff = pytest.importorskip("krippendorff")
    ours = krippendorff_alpha(data, level)
    matrix = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level.value)
    except (ValueError, ZeroDivisionError):
        theirs = math.nan
    if ours is None:
        assert not math.isfinite(theirs)
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


def test_share_of_pairs_within_ten_points() -> None:
    # unit 1: pairs (80,85) ok, (80,95) no, (85,95) ok; unit 2: (50,60) ok -> 3/4
    assert share_within([[80, 85, 95], [50, 60]]) == pytest.approx(0.75)
    assert share_within([[70], []]) is None


def test_outliers_are_more_than_ten_points_from_the_others_median() -> None:
    assert outliers({1: 80.0, 2: 85.0, 3: 40.0}) == [3]
    assert outliers({1: 80.0, 2: 90.0}) == []
