"""Scoring rules: raw signals to 0-100 values."""

from __future__ import annotations

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.health.measures import (
    DEFAULT_WEIGHTS,
    MEASURES,
    RawSignals,
    default_points,
    measure_values,
    normalise,
    validate_points,
)


def test_points_interpolate_and_hold_flat_past_the_ends() -> None:
    points = [[0, 0], [10, 50], [20, 100]]
    assert normalise(points, 5) == pytest.approx(25)
    assert normalise(points, 15) == pytest.approx(75)
    assert normalise(points, -3) == 0
    assert normalise(points, 500) == 100
    assert normalise(points, None) is None
    falling = [[0, 100], [90, 0]]
    assert normalise(falling, 45) == pytest.approx(50)


def test_rules_are_validated() -> None:
    assert validate_points("nps", [[-100, 0], [100, 100]]) == [[-100.0, 0.0], [100.0, 100.0]]
    for bad in ([[0, 0]], [[0, 0], [0, 100]], [[10, 0], [5, 100]], [[0, 0], [1, 101]], [[0, 1, 2], [3, 4]]):
        with pytest.raises(ValidationFailed):
            validate_points("nps", bad)


def test_default_scorecard_covers_every_measure_and_sums_to_100() -> None:
    assert set(DEFAULT_WEIGHTS) == set(MEASURES)
    assert sum(DEFAULT_WEIGHTS.values()) == 100
    for key in MEASURES:
        validate_points(key, default_points(key))


def test_measure_values_read_their_raw_fields() -> None:
    raw = RawSignals(engaged_rate_pct=15, payment_days_overdue=30, days_to_renewal=None)
    rules = {k: default_points(k) for k in ("utilisation", "payment_status", "renewal_proximity")}
    values = measure_values(raw, rules)
    assert values == {"utilisation": 75.0, "payment_status": 50.0, "renewal_proximity": None}
