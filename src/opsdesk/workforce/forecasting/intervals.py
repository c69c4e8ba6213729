"""80% and 95% prediction intervals from the chosen model's own rolling-origin errors.

Errors are scaled by the square root of the forecast (count noise grows with the level) and their
empirical quantiles are taken separately in up to five bands of forecast level, because busy slots also
carry day-level error that quiet slots do not. This is split-conformal in spirit: the folds were never
used to fit the forecasts they score, so the quantiles are honest out-of-sample spreads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

LEVELS = {"lo95": 0.025, "lo80": 0.10, "hi80": 0.90, "hi95": 0.975}
BANDS = 5
MIN_PER_BAND = 40


@dataclass(frozen=True)
class ErrorQuantiles:
    """Quantiles of scaled errors per forecast-level band; `centres` are the bands' median forecasts."""

    centres: FloatArray
    quantiles: dict[str, FloatArray]


def fit_error_quantiles(forecast: FloatArray, actual: FloatArray) -> ErrorQuantiles:
    scaled = (actual - forecast) / np.sqrt(np.maximum(forecast, 0.0) + 1.0)
    bands = max(1, min(BANDS, forecast.size // MIN_PER_BAND))
    order = np.argsort(forecast, kind="stable")
    groups = np.array_split(order, bands) if forecast.size else [order]
    centres = np.array([float(np.median(forecast[g])) if g.size else 0.0 for g in groups])
    probabilities = list(LEVELS.values())
    table = np.array(
        [np.quantile(scaled[g], probabilities) if g.size else np.zeros(len(LEVELS)) for g in groups]
    )
    quantiles = {name: table[:, index] for index, name in enumerate(LEVELS)}
    return ErrorQuantiles(centres=centres, quantiles=quantiles)


def intervals(point: FloatArray, errors: ErrorQuantiles) -> dict[str, FloatArray]:
    """Bounds around `point` (any shape); never negative and never on the wrong side of the point."""
    root = np.sqrt(np.maximum(point, 0.0) + 1.0)
    out: dict[str, FloatArray] = {}
    for name, values in errors.quantiles.items():
        quantile = np.interp(point, errors.centres, values)
        bound = point + quantile * root
        bound = np.minimum(bound, point) if name.startswith("lo") else np.maximum(bound, point)
        out[name] = np.maximum(bound, 0.0)
    return out
