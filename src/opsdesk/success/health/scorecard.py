"""Pure scorecard maths: weights, the weighted score with each measure's contribution, bands, and which
scorecard applies to an account.

The overall score is the weighted mean of the measures that have a value. A measure without one (no
NPS survey yet, no utilisation imported) drops out and the others' weights are scaled up so they still
sum to 100: a missing input neither drags the score down nor props it up. When the measures with a
value carry less than MIN_COVERAGE_PCT of the weight there is no score (too little is known, and a new
account with "no escalations" as its only input would otherwise look perfectly healthy). The
contribution shown for a measure is its value times its effective weight / 100, so the contributions
add up to the score."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.health.measures import MEASURES

DEFAULT_RED_BELOW = 50
DEFAULT_GREEN_FROM = 75
MIN_COVERAGE_PCT = 30


class Band(enum.StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


@dataclass(frozen=True)
class Thresholds:
    red_below: float = DEFAULT_RED_BELOW
    green_from: float = DEFAULT_GREEN_FROM


@dataclass(frozen=True)
class Contribution:
    measure: str
    raw: float | None
    value: float | None
    weight: int
    effective_weight: float  # the weight after re-weighting over the measures with a value
    contribution: float


@dataclass(frozen=True)
class ScoreResult:
    score: float | None
    contributions: list[Contribution]


def validate_weights(weights: Mapping[str, int]) -> dict[str, int]:
    """Known measures, whole non-negative weights summing to exactly 100."""
    unknown = sorted(set(weights) - set(MEASURES))
    if unknown:
        raise ValidationFailed(
            f"unknown measure {unknown[0]!r} (known: {', '.join(MEASURES)})", field=f"measures.{unknown[0]}"
        )
    for key, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ValidationFailed(
                f"the weight of {key} must be a whole number >= 0", field=f"measures.{key}"
            )
    total = sum(weights.values())
    if total != 100:
        raise ValidationFailed(f"measure weights must sum to 100 (they sum to {total})", field="measures")
    return dict(weights)


def validate_thresholds(red_below: float, green_from: float) -> Thresholds:
    if not 0 <= red_below <= green_from <= 100:
        raise ValidationFailed("thresholds need 0 <= red_below <= green_from <= 100", field="red_below")
    return Thresholds(red_below, green_from)


def weighted_score(
    values: Mapping[str, float | None],
    weights: Mapping[str, int],
    raws: Mapping[str, float | None] | None = None,
) -> ScoreResult:
    """The scorecard's score for one account; None when too little of the weight has a value."""
    available = sum(w for key, w in weights.items() if values.get(key) is not None)
    enough = available > 0 and available * 100 >= MIN_COVERAGE_PCT * sum(weights.values())
    contributions = []
    for key, weight in weights.items():
        value = values.get(key)
        effective = weight * 100.0 / available if value is not None and available > 0 else 0.0
        contributions.append(
            Contribution(
                measure=key,
                raw=(raws or {}).get(key),
                value=value,
                weight=weight,
                effective_weight=effective,
                contribution=(value or 0.0) * effective / 100.0,
            )
        )
    score = sum(c.contribution for c in contributions) if enough else None
    return ScoreResult(score=score, contributions=contributions)


def band_of(score: float | None, thresholds: Thresholds = Thresholds()) -> Band | None:
    if score is None:
        return None
    if score < thresholds.red_below:
        return Band.RED
    if score >= thresholds.green_from:
        return Band.GREEN
    return Band.AMBER


@dataclass(frozen=True)
class ScorecardChoice:
    """What picks a scorecard: None on segment or stage means "any"."""

    id: int
    name: str
    segment_id: int | None
    stage: str | None
    priority: int


def choose_scorecard(
    cards: Sequence[ScorecardChoice], *, segment_id: int | None, stage: str | None
) -> ScorecardChoice | None:
    """The most specific matching scorecard (segment and stage, then either, then a default), then the
    lowest priority, then the name, so the choice never depends on row order."""
    matching = [
        c
        for c in cards
        if (c.segment_id is None or c.segment_id == segment_id) and (c.stage is None or c.stage == stage)
    ]
    if not matching:
        return None
    return min(
        matching,
        key=lambda c: (-((c.segment_id is not None) + (c.stage is not None)), c.priority, c.name),
    )


def whole_weights(shares: Mapping[str, float]) -> dict[str, int]:
    """Non-negative shares as whole-number weights summing to 100 (largest remainder), so suggested
    weights can be stored on a scorecard as they are."""
    total = sum(max(v, 0.0) for v in shares.values())
    if total <= 0:
        raise ValueError("no positive share to turn into weights")
    exact = {k: max(v, 0.0) * 100.0 / total for k, v in shares.items()}
    weights = {k: math.floor(v) for k, v in exact.items()}
    short = 100 - sum(weights.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - weights[k]), k))[:short]:
        weights[key] += 1
    return weights
