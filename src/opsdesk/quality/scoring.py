"""Review scores as Zendesk QA publishes them, so a QA lead's numbers match the tool they know:

- category score = (selected - scale minimum) / (scale maximum - scale minimum) x 100;
- review score = the weighted mean of the rated categories' scores, N/A left out;
- a critical category scored below 50% makes the whole review 0;
- IQS (internal quality score) = the mean of the review scores.

Pure: plain values in, floats out. A review whose every category is N/A (or weighs nothing) has no
score (None) and is left out of IQS rather than counted as 0 or 100.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from opsdesk.core.errors import ValidationFailed

CRITICAL_PASS = 50.0
MAX_WEIGHT = 100


class Scale(enum.StrEnum):
    BINARY = "binary"
    ONE_TO_THREE = "1-3"
    ONE_TO_FOUR = "1-4"
    ONE_TO_FIVE = "1-5"


# Binary is rated 0 (no) or 1 (yes); the others from 1 to their top.
SCALE_RANGE: dict[Scale, tuple[int, int]] = {
    Scale.BINARY: (0, 1),
    Scale.ONE_TO_THREE: (1, 3),
    Scale.ONE_TO_FOUR: (1, 4),
    Scale.ONE_TO_FIVE: (1, 5),
}


@dataclass(frozen=True)
class CategoryRule:
    """How one rubric category is scored."""

    key: str
    scale: Scale
    weight: int = 1
    critical: bool = False
    allow_na: bool = False


def category_score(scale: Scale, selected: int) -> float:
    low, high = SCALE_RANGE[scale]
    if not low <= selected <= high:
        raise ValidationFailed(f"a {scale.value} rating must be from {low} to {high}", field="rating")
    return (selected - low) / (high - low) * 100.0


def category_scores(
    rules: Sequence[CategoryRule], ratings: Mapping[str, int | None]
) -> dict[str, float | None]:
    """Each category's score (None for N/A). Every category must be rated or, where allowed, N/A."""
    unknown = set(ratings) - {rule.key for rule in rules}
    if unknown:
        raise ValidationFailed(f"not in this rubric: {', '.join(sorted(unknown))}", field="ratings")
    scores: dict[str, float | None] = {}
    for rule in rules:
        if rule.key not in ratings:
            raise ValidationFailed(f"{rule.key} is not rated", field="ratings")
        selected = ratings[rule.key]
        if selected is None:
            if not rule.allow_na:
                raise ValidationFailed(f"{rule.key} may not be N/A", field="ratings")
            scores[rule.key] = None
        else:
            scores[rule.key] = category_score(rule.scale, selected)
    return scores


def review_score(rules: Sequence[CategoryRule], ratings: Mapping[str, int | None]) -> float | None:
    scores = category_scores(rules, ratings)
    for rule in rules:
        score = scores[rule.key]
        if rule.critical and score is not None and score < CRITICAL_PASS:
            return 0.0
    weighted = [(scores[r.key], r.weight) for r in rules if scores[r.key] is not None]
    total_weight = sum(weight for _, weight in weighted)
    if total_weight == 0:
        return None
    return sum(score * weight for score, weight in weighted if score is not None) / total_weight


def iqs(review_scores: Iterable[float | None]) -> float | None:
    """Mean of the review scores that exist; None when there are none."""
    scored = [score for score in review_scores if score is not None]
    return sum(scored) / len(scored) if scored else None
