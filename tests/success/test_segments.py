from __future__ import annotations

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.segments import DEFAULT_BANDS, SegmentRules, matching_segment, validate_rules


@pytest.mark.parametrize(
    ("lives", "segment"),
    [
        (0, None),
        (1, "Small business"),
        (99, "Small business"),
        (100, "Lower mid-market"),
        (999, "Lower mid-market"),
        (1_000, "Upper mid-market"),
        (4_999, "Upper mid-market"),
        (5_000, "Large"),
        (14_999, "Large"),
        (15_000, "Enterprise"),
        (30_000, "Enterprise"),
    ],
)
def test_default_bands_cover_lives_edges(lives: int, segment: str | None) -> None:
    assert matching_segment(DEFAULT_BANDS, {"covered_lives": lives}) == segment


def test_a_custom_segment_with_higher_priority_wins_on_any_field() -> None:
    health = SegmentRules(
        "Strategic healthcare",
        10,
        validate_rules(
            [
                {"field": "industry", "op": "in", "value": ["Healthcare", "Hospitals"]},
                {"field": "covered_lives", "op": "gte", "value": 5000},
            ]
        ),
    )
    segments = [*DEFAULT_BANDS, health]
    assert (
        matching_segment(segments, {"covered_lives": 6000, "industry": "healthcare"})
        == "Strategic healthcare"
    )
    assert matching_segment(segments, {"covered_lives": 6000, "industry": "Retail"}) == "Large"
    assert matching_segment(segments, {"covered_lives": 200, "industry": "Healthcare"}) == "Lower mid-market"


@pytest.mark.parametrize(
    "rules",
    [
        [],
        [{"field": "colour", "op": "eq", "value": "red"}],
        [{"field": "region", "op": "like", "value": "EU"}],
        [{"field": "covered_lives", "op": "gte", "value": "many"}],
        [{"field": "region", "op": "in", "value": "EMEA"}],
    ],
)
def test_bad_rules_are_refused(rules: list[dict]) -> None:
    with pytest.raises(ValidationFailed):
        validate_rules(rules)
