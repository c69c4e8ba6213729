"""Calibrated prediction intervals on synthetic series whose noise is known.

Each series is a daily curve x a weekday level x a day-level factor (lognormal, so whole days run high
or low, as real contact volume does) with Poisson counts on top. The bands are fitted on the history
only and scored on the next 14 days drawn from the same process; over many fixed seeds the 80% and 95%
bands must hold close to 80% and 95% of those actuals.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import numpy as np
import pandas as pd

from opsdesk.workforce.forecasting.forecaster import forecast_volume
from opsdesk.workforce.forecasting.history import VolumeHistory
from opsdesk.workforce.forecasting.intervals import fit_error_quantiles, intervals, step_factors

WEEKDAY_LEVEL = np.array([1.0, 1.1, 1.0, 0.9, 0.8, 0.0, 0.0])  # closed at weekends
SEEDS = range(24)
HISTORY_DAYS = 84
HORIZON_DAYS = 14


def expected(stamps: pd.DatetimeIndex) -> np.ndarray:
    hour = stamps.hour.to_numpy() + stamps.minute.to_numpy() / 60
    curve = np.where((hour >= 8) & (hour < 18), 0.3 + np.exp(-((hour - 11) ** 2) / 6), 0.0)
    return 60.0 * WEEKDAY_LEVEL[stamps.weekday.to_numpy()] * curve


def series(seed: int) -> tuple[VolumeHistory, np.ndarray]:
    """History and the following horizon's actuals, 30-minute slots, day factor sd 8%."""
    wall = pd.date_range("2026-01-05", periods=(HISTORY_DAYS + HORIZON_DAYS) * 48, freq="30min")
    rng = np.random.default_rng(seed)
    day_factor = np.exp(rng.normal(0.0, 0.08, HISTORY_DAYS + HORIZON_DAYS))
    mean = expected(wall) * np.repeat(day_factor, 48)
    volume = rng.poisson(mean).astype(np.float64)
    keep = mean > 0  # only open slots are exported, as call-centre systems do
    cut = HISTORY_DAYS * 48
    history = VolumeHistory(wall=wall[:cut][keep[:cut]], volume=volume[:cut][keep[:cut]], zone=UTC)
    return history, volume[cut:][keep[cut:]]


def test_bands_hold_close_to_nominal_on_series_with_known_noise() -> None:
    inside = {"80": [], "95": []}
    for seed in SEEDS:
        history, actual = series(seed)
        frame = forecast_volume(
            history, step_minutes=30, horizon=timedelta(days=HORIZON_DAYS), open_only=True
        ).frame
        assert len(frame) == len(actual)
        for level, hits in inside.items():
            low, high = frame[f"lo{level}"].to_numpy(), frame[f"hi{level}"].to_numpy()
            hits.append((actual >= low) & (actual <= high))
    share = {level: float(np.concatenate(hits).mean()) for level, hits in inside.items()}
    assert 0.74 <= share["80"] <= 0.86, share
    assert 0.91 <= share["95"] <= 0.985, share


def test_step_factors_follow_errors_that_grow_with_the_day_ahead() -> None:
    rng = np.random.default_rng(0)
    step = np.repeat(np.arange(10), 400).astype(np.int64)
    spread = np.abs(rng.normal(0.0, 1.0 + 0.2 * step))
    factors = step_factors(spread, step)
    assert np.all(np.diff(factors) > 0)
    assert factors[9] / factors[0] == np.clip(factors[9] / factors[0], 2.2, 3.3)  # truth: 2.8
    assert abs(factors[step].mean() - 1.0) < 1e-9


def test_later_days_get_wider_bands_when_errors_grow_with_the_horizon() -> None:
    rng = np.random.default_rng(1)
    step = np.repeat(np.arange(10), 300).astype(np.int64)
    forecast = np.full(step.size, 100.0)
    actual = forecast + rng.normal(0.0, 5.0 * (1.0 + 0.2 * step))
    errors = fit_error_quantiles(forecast, actual, step)
    bands = intervals(np.full((10, 4), 100.0), errors)
    width = bands["hi80"][:, 0] - bands["lo80"][:, 0]
    assert width[9] > 2 * width[0]
    # Each day's band holds about 80% of that day's errors.
    for day in (0, 9):
        held = np.abs(actual[step == day] - 100.0) <= width[day] / 2
        assert 0.7 <= held.mean() <= 0.9
