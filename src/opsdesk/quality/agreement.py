"""How far reviewers agree: Krippendorff's alpha and the share of reviewer pairs within 10 points.

Alpha follows Krippendorff's "Computing Krippendorff's Alpha-Reliability" (2011): a coincidence
matrix over the pairable values (units with at least two values; missing values are simply absent),
then alpha = 1 - D_o / D_e with the level's difference function (nominal, ordinal, interval, ratio).
The within-10 share is the plain reading a QA lead checks first: of all pairs of reviewers who scored
the same conversation, how many were at most 10 points apart.

Pure; numpy is imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import enum
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

WITHIN_POINTS = 10.0


class Level(enum.StrEnum):
    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    INTERVAL = "interval"
    RATIO = "ratio"


Value = float | None


def krippendorff_alpha(data: Sequence[Sequence[Value]], level: Level) -> float | None:
    """Alpha of reliability data given as one row per observer, one column per unit, None (or NaN)
    where an observer gave no value. None when alpha is undefined: fewer than two pairable values,
    or no variation at all among them (D_e = 0)."""
    import numpy as np

    matrix = np.array(
        [[math.nan if v is None else float(v) for v in row] for row in data], dtype=np.float64
    ).reshape(len(data), -1)
    columns = [matrix[:, u][~np.isnan(matrix[:, u])] for u in range(matrix.shape[1])]
    pairable = [column for column in columns if column.size >= 2]
    if not pairable:
        return None
    values = np.unique(np.concatenate(pairable))
    if values.size < 2:
        return None
    coincidences = np.zeros((values.size, values.size))
    for column in pairable:
        counts = np.bincount(np.searchsorted(values, column), minlength=values.size).astype(float)
        coincidences += (np.outer(counts, counts) - np.diag(counts)) / (column.size - 1)
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    delta = _difference(values, totals, level)
    observed = float((coincidences * delta).sum()) / n
    expected = float((np.outer(totals, totals) * delta).sum()) / (n * (n - 1))
    return None if expected == 0 else 1.0 - observed / expected


def _difference(values: np.ndarray[Any, Any], totals: np.ndarray[Any, Any], level: Level) -> Any:
    """The squared difference delta^2(c, k) between every two values, for the level of measurement."""
    import numpy as np

    c, k = np.meshgrid(values, values, indexing="ij")
    if level is Level.NOMINAL:
        return (c != k).astype(float)
    if level is Level.INTERVAL:
        return (c - k) ** 2
    if level is Level.RATIO:
        total = c + k
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total == 0, 0.0, ((c - k) / total) ** 2)
    # Ordinal: (sum of n_g for g from c to k, minus half of n_c and n_k) squared, over ranks.
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    i, j = np.meshgrid(np.arange(values.size), np.arange(values.size), indexing="ij")
    low, high = np.minimum(i, j), np.maximum(i, j)
    between = cumulative[high + 1] - cumulative[low] - (totals[i] + totals[j]) / 2
    return between**2


def share_within(scores_by_unit: Sequence[Sequence[float]], points: float = WITHIN_POINTS) -> float | None:
    """Of every pair of scores given to the same unit, the share at most ``points`` apart."""
    pairs = close = 0
    for scores in scores_by_unit:
        for a, b in itertools.combinations(scores, 2):
            pairs += 1
            close += abs(a - b) <= points
    return close / pairs if pairs else None


def outliers(scores: Mapping[int, float], points: float = WITHIN_POINTS) -> list[int]:
    """Reviewers whose score is more than ``points`` from the median of all the scores given."""
    if len(scores) < 2:
        return []
    middle = statistics.median(scores.values())
    return sorted(reviewer for reviewer, score in scores.items() if abs(score - middle) > points)
