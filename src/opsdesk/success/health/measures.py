"""The measures a scorecard can weigh, and how a raw signal becomes a 0-100 value.

Each measure reads one raw number about an account (an engagement rate, a ticket rate, days since the
last executive meeting ...) and a scoring rule turns it into 0 (worst) .. 100 (best). A rule is a list
of ``[raw, score]`` points: scores are interpolated linearly between points and held flat past the first
and last, so "0-5 % engaged is poor, 15 % is fine, 30 % and up is excellent" is three points. A measure
whose raw input is unknown has no value, and the scorecard re-weights over the measures it does have."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsdesk.core.errors import ValidationFailed

Points = list[list[float]]


@dataclass(frozen=True)
class RawSignals:
    """Everything known about one account on a date that the measures read; None means unknown."""

    engaged_rate_pct: float | None = None  # latest completed month, engaged members / covered lives
    tickets_per_1000_lives: float | None = None  # tickets created in the window per 1,000 covered lives
    csat_pct: float | None = None
    escalations: float | None = None  # customer escalations, desk escalations and SLA breaches in the window
    nps: float | None = None  # -100..100
    days_since_exec_engagement: float | None = None
    days_to_renewal: float | None = None  # until the current term's last day
    payment_days_overdue: float | None = None


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    raw_field: str
    unit: str
    default_points: tuple[tuple[float, float], ...]
    source: str


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure(
            "utilisation", "Member utilisation", "engaged_rate_pct", "% engaged",
            ((0, 0), (5, 40), (15, 75), (30, 100)), "monthly utilisation import",
        ),
        Measure(
            "support_tickets", "Support tickets", "tickets_per_1000_lives", "tickets / 1,000 lives / 90 d",
            ((0, 100), (5, 75), (20, 25), (50, 0)), "desk tickets of the linked organisation",
        ),
        Measure(
            "csat", "CSAT", "csat_pct", "% good",
            ((60, 0), (80, 50), (95, 100)), "desk CSAT, else the imported csat signal",
        ),
        Measure(
            "escalations", "Escalations", "escalations", "escalations + SLA breaches / 90 d",
            ((0, 100), (1, 60), (3, 20), (5, 0)), "customer escalations, and desk events of the organisation",
        ),
        Measure(
            "nps", "NPS", "nps", "NPS",
            ((-100, 0), (0, 40), (30, 75), (60, 100)), "survey answers of the last year, else the nps signal",
        ),
        Measure(
            "exec_engagement", "Executive engagement", "days_since_exec_engagement", "days since",
            ((0, 100), (90, 75), (180, 25), (365, 0)), "imported exec_engagement signal",
        ),
        Measure(
            "renewal_proximity", "Renewal proximity", "days_to_renewal", "days to renewal",
            ((0, 20), (90, 50), (180, 100)), "subscriptions",
        ),
        Measure(
            "payment_status", "Payment status", "payment_days_overdue", "days overdue",
            ((0, 100), (30, 50), (90, 0)), "imported payment_days_overdue signal",
        ),
    )
}  # fmt: skip

# The scorecard every install starts with; weights sum to 100.
DEFAULT_WEIGHTS = {
    "utilisation": 25,
    "support_tickets": 10,
    "csat": 10,
    "escalations": 10,
    "nps": 10,
    "exec_engagement": 10,
    "renewal_proximity": 10,
    "payment_status": 15,
}


def default_points(key: str) -> Points:
    return [list(p) for p in MEASURES[key].default_points]


def validate_points(key: str, points: Sequence[Sequence[float]]) -> Points:
    """At least two ``[raw, score]`` pairs, raw strictly increasing, scores within 0..100."""
    import numpy as np

    where = f"measures.{key}.points"
    if len(points) < 2:
        raise ValidationFailed(f"{where}: a scoring rule needs at least two [raw, score] points", field=where)
    clean: Points = []
    for pair in points:
        if len(pair) != 2:
            raise ValidationFailed(f"{where}: each point is [raw, score]", field=where)
        raw, score = float(pair[0]), float(pair[1])
        if not (np.isfinite(raw) and 0 <= score <= 100):
            raise ValidationFailed(f"{where}: scores must be between 0 and 100", field=where)
        if clean and raw <= clean[-1][0]:
            raise ValidationFailed(f"{where}: raw values must increase from point to point", field=where)
        clean.append([raw, score])
    return clean


def normalise(points: Sequence[Sequence[float]], raw: float | None) -> float | None:
    """The 0-100 value of a raw signal under a scoring rule; None when the signal is unknown."""
    import numpy as np

    if raw is None or not np.isfinite(raw):
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return float(np.interp(raw, xs, ys))


def measure_values(
    raw: RawSignals, rules: Mapping[str, Sequence[Sequence[float]]]
) -> dict[str, float | None]:
    """Each ruled measure's 0-100 value for one account."""
    return {key: normalise(points, getattr(raw, MEASURES[key].raw_field)) for key, points in rules.items()}
