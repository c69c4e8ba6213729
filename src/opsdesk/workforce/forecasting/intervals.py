"""80% and 95% prediction intervals from the chosen model's own rolling-origin errors.

Errors are scaled by the square root of the forecast (count noise grows with the level) and their
empirical quantiles are taken separately in up to five bands of forecast level, because busy slots also
carry day-level error that quiet slots do not. This is split-conformal in spirit: the folds were never
used to fit the forecasts they score, so the quantiles are honest out-of-sample spreads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LEVELS = {"lo95": 0.025, "lo80": 0.10, "hi80": 0.90, "hi95": 0.975}
BANDS = 5
MIN_PER_BAND = 40


@dataclass(frozen=True)
class ErrorQuantiles:
    """Quantiles of scaled errors per forecast-level band; `centres` are the bands' median forecasts.

    `step_factors[h]`: how much wider than average the errors are h days after the origin (all ones
    when not calibrated by horizon); days beyond the last calibrated one use the last factor."""

    centres: FloatArray
    quantiles: dict[str, FloatArray]
    step_factors: FloatArray = field(default_factory=lambda: np.ones(1))


def fit_error_quantiles(
    forecast: FloatArray, actual: FloatArray, step: IntArray | None = None
) -> ErrorQuantiles:
    """Quantiles of the errors; with `step` (days after each error's origin), errors are first divided
    by a factor for their day ahead, fitted as a straight line in the day ahead to the mean absolute
    scaled error of each day (errors grow with the distance from the origin; a line keeps the fit to
    a few dozen days from chasing noise)."""
    scaled = (actual - forecast) / np.sqrt(np.maximum(forecast, 0.0) + 1.0)
    factors = np.ones(1)
    if step is not None and scaled.size:
        factors = step_factors(np.abs(scaled), step)
        scaled = scaled / factors[np.minimum(step, factors.size - 1)]
    bands = max(1, min(BANDS, forecast.size // MIN_PER_BAND))
    order = np.argsort(forecast, kind="stable")
    groups = np.array_split(order, bands) if forecast.size else [order]
    centres = np.array([float(np.median(forecast[g])) if g.size else 0.0 for g in groups])
    probabilities = list(LEVELS.values())
    table = np.array(
        [np.quantile(scaled[g], probabilities) if g.size else np.zeros(len(LEVELS)) for g in groups]
    )
    quantiles = {name: table[:, index] for index, name in enumerate(LEVELS)}
    return ErrorQuantiles(centres=centres, quantiles=quantiles, step_factors=factors)


def step_factors(spread: FloatArray, step: IntArray) -> FloatArray:
    """Relative error size per day ahead (0 .. max step), mean 1 over the errors, clipped to [1/2, 2]."""
    days = int(step.max()) + 1
    counts = np.bincount(step, minlength=days).astype(np.float64)
    means = np.bincount(step, weights=spread, minlength=days) / np.maximum(counts, 1.0)
    seen = counts > 0
    if seen.sum() < 2 or not means[seen].any():
        return np.ones(days)
    slope, intercept = np.polyfit(np.nonzero(seen)[0], means[seen], 1, w=np.sqrt(counts[seen]))
    line = np.maximum(intercept + slope * np.arange(days), 1e-9)
    return np.clip(line / (line[step].mean()), 0.5, 2.0)


def intervals(point: FloatArray, errors: ErrorQuantiles) -> dict[str, FloatArray]:
    """Bounds around `point` (any shape; rows are days ahead when step factors are calibrated); never
    negative and never on the wrong side of the point."""
    root = np.sqrt(np.maximum(point, 0.0) + 1.0)
    if point.ndim == 2:
        rows = np.minimum(np.arange(point.shape[0]), errors.step_factors.size - 1)
        root = root * errors.step_factors[rows][:, None]
    out: dict[str, FloatArray] = {}
    for name, values in errors.quantiles.items():
        quantile = np.interp(point, errors.centres, values)
        bound = point + quantile * root
        bound = np.minimum(bound, point) if name.startswith("lo") else np.maximum(bound, point)
        out[name] = np.maximum(bound, 0.0)
    return out
