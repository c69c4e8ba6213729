"""The driver model: the forecast follows the customer count forecast."""

from __future__ import annotations

from datetime import UTC, timedelta

import numpy as np
import pandas as pd
import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.forecasting.drivers import forecast_with_customers
from opsdesk.workforce.forecasting.forecaster import forecast_volume
from opsdesk.workforce.forecasting.history import VolumeHistory
from tests.workforce.test_forecast import hourly_mean


def growing_history(days: int = 42) -> tuple[VolumeHistory, pd.Series]:
    """Contacts per customer constant, customer base growing 1% a day: volume grows with it."""
    wall = pd.date_range("2026-01-05", periods=days * 24, freq="1h")
    customers = pd.Series(
        1000 * 1.01 ** np.arange(days + 30), index=pd.date_range("2026-01-05", periods=days + 30, freq="1D")
    )
    in_force = customers.reindex(wall, method="ffill").to_numpy()
    rng = np.random.default_rng(21)
    volume = rng.poisson(hourly_mean(wall) * in_force / 1000).astype(float)
    return VolumeHistory(wall=wall, volume=volume, zone=UTC), customers


def test_forecast_scales_with_the_customer_count_forecast() -> None:
    history, customers = growing_history()
    flat = customers.copy()
    flat[flat.index >= pd.Timestamp("2026-02-16")] = flat[pd.Timestamp("2026-02-15")]
    doubled = flat.copy()
    doubled[doubled.index >= pd.Timestamp("2026-02-16")] *= 2
    base = forecast_with_customers(history, flat, step_minutes=60, horizon=timedelta(days=7)).frame
    twice = forecast_with_customers(history, doubled, step_minutes=60, horizon=timedelta(days=7)).frame
    for column in ("forecast", "lo80", "hi80", "lo95", "hi95"):
        np.testing.assert_allclose(twice[column], 2 * base[column])


def test_customer_growth_moves_the_forecast_where_volume_alone_lags() -> None:
    history, customers = growing_history()
    driven = forecast_with_customers(history, customers, step_minutes=60, horizon=timedelta(days=14)).frame
    plain = forecast_volume(history, step_minutes=60, horizon=timedelta(days=14)).frame
    wall = pd.DatetimeIndex(driven["timestamp"]).tz_localize(None)
    truth = hourly_mean(wall) * customers.reindex(wall, method="ffill").to_numpy() / 1000
    driven_error = np.abs(driven["forecast"] - truth).sum()
    plain_error = np.abs(plain["forecast"] - truth).sum()
    assert driven_error < plain_error
    assert driven["forecast"][-24:].sum() > driven["forecast"][-8 * 24 : -7 * 24].sum() * 1.04
    assert (
        "per customer"
        in forecast_with_customers(history, customers, step_minutes=60, horizon=timedelta(days=1)).model
    )


def test_customer_counts_must_cover_the_history() -> None:
    history, customers = growing_history()
    with pytest.raises(ValidationFailed, match="start no later"):
        forecast_with_customers(history, customers[5:], step_minutes=60, horizon=timedelta(days=1))
