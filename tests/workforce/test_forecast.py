"""Forecasting on synthetic series whose true pattern is known: it must be recovered, with sane
intervals, through gaps, zeros, operating hours, DST changes, outliers and special days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.forecasting.candidates import statsforecast_totals, total_models
from opsdesk.workforce.forecasting.forecaster import forecast_volume
from opsdesk.workforce.forecasting.history import VolumeHistory, to_grid
from opsdesk.workforce.forecasting.holidays import DayKind

WEEKDAY_LEVEL = np.array([1.0, 1.1, 1.0, 0.9, 0.8, 0.3, 0.2])


def hourly_mean(stamps: pd.DatetimeIndex, scale: float = 20.0) -> np.ndarray:
    """Expected volume: a weekday level x a daily curve peaking at 11:00 and 15:00 local time."""
    hour = stamps.hour.to_numpy() + stamps.minute.to_numpy() / 60
    curve = 0.1 + np.exp(-((hour - 11) ** 2) / 6) + 0.7 * np.exp(-((hour - 15) ** 2) / 4)
    return scale * WEEKDAY_LEVEL[stamps.weekday.to_numpy()] * curve


def poisson_history(days: int, seed: int = 1, step: str = "1h", start: str = "2026-01-05") -> VolumeHistory:
    wall = pd.date_range(start, periods=days * pd.Timedelta("1D") // pd.Timedelta(step), freq=step)
    rng = np.random.default_rng(seed)
    scale = 20.0 * pd.Timedelta(step) / pd.Timedelta("1h")
    volume = rng.poisson(hourly_mean(wall, scale)).astype(np.float64)
    return VolumeHistory(wall=wall, volume=volume, zone=UTC)


def run(history: VolumeHistory, days: int = 7, step: int = 60, **kwargs: object) -> pd.DataFrame:
    return forecast_volume(history, step_minutes=step, horizon=timedelta(days=days), **kwargs).frame  # type: ignore[arg-type]


def test_forecast_recovers_daily_and_weekly_seasonality() -> None:
    frame = run(poisson_history(56), days=14)
    wall = pd.DatetimeIndex(frame["timestamp"]).tz_localize(None)
    truth = hourly_mean(wall)
    assert wall[0] == pd.Timestamp("2026-03-02 00:00")
    assert len(frame) == 14 * 24
    assert np.abs(frame["forecast"] - truth).sum() / truth.sum() < 0.12
    monday, sunday = frame["forecast"][:24].sum(), frame["forecast"][6 * 24 : 7 * 24].sum()
    assert monday / sunday == pytest.approx(WEEKDAY_LEVEL[0] / WEEKDAY_LEVEL[6], rel=0.25)
    assert int(np.argmax(frame["forecast"][:24])) in (10, 11, 12)


def test_prediction_intervals_are_ordered_and_cover_about_their_level() -> None:
    history = poisson_history(84, seed=3)
    frame = run(history, days=14)
    assert (frame["lo95"] <= frame["lo80"]).all() and (frame["lo80"] <= frame["forecast"]).all()
    assert (frame["forecast"] <= frame["hi80"]).all() and (frame["hi80"] <= frame["hi95"]).all()
    assert (frame["lo95"] >= 0).all()
    wall = pd.DatetimeIndex(frame["timestamp"]).tz_localize(None)
    actual = np.random.default_rng(99).poisson(hourly_mean(wall))
    inside80 = ((actual >= frame["lo80"]) & (actual <= frame["hi80"])).mean()
    inside95 = ((actual >= frame["lo95"]) & (actual <= frame["hi95"])).mean()
    assert 0.65 <= inside80 <= 0.95
    assert 0.85 <= inside95 <= 1.0


def bank_like(days: int, step: str = "30min") -> VolumeHistory:
    """Weekdays only, rows only for 07:00-21:00 slots, as call-centre exports come."""
    wall = pd.date_range("2026-01-05", periods=days * 48, freq=step)
    keep = (wall.weekday < 5) & (wall.hour >= 7) & (wall.hour < 21)
    wall = wall[keep]
    rng = np.random.default_rng(5)
    return VolumeHistory(wall=wall, volume=rng.poisson(hourly_mean(wall, 40)).astype(float), zone=UTC)


def test_closed_hours_forecast_zero_and_open_only_leaves_them_out() -> None:
    history = bank_like(42)
    frame = run(history, days=7, step=30)
    wall = pd.DatetimeIndex(frame["timestamp"]).tz_localize(None)
    open_slots = (wall.weekday < 5) & (wall.hour >= 7) & (wall.hour < 21)
    assert len(frame) == 7 * 48
    assert (frame.loc[~open_slots, ["forecast", "lo80", "hi80", "lo95", "hi95"]] == 0).all().all()
    assert (frame.loc[open_slots, "forecast"] > 0).all()
    truth = hourly_mean(wall[open_slots], 40)
    assert np.abs(frame.loc[open_slots, "forecast"] - truth).sum() / truth.sum() < 0.12

    only = run(history, days=7, step=30, open_only=True)
    assert len(only) == 5 * 28
    assert grid_filled(history) == 0  # closed time is not missing data


def grid_filled(history: VolumeHistory, step: int = 30) -> int:
    return to_grid(history, step, {}).filled


def test_gaps_are_filled_from_nearby_weeks() -> None:
    history = poisson_history(42, seed=7)
    drop = np.zeros(len(history.wall), dtype=bool)
    drop[24 * 30 : 24 * 31] = True  # a whole Wednesday
    drop[np.random.default_rng(2).choice(len(drop) - 48, 40, replace=False)] = True
    holed = VolumeHistory(wall=history.wall[~drop], volume=history.volume[~drop], zone=UTC)
    grid = to_grid(holed, 60, {})
    assert grid.filled == int(drop.sum())
    assert not np.isnan(grid.values).any()
    frame = run(holed)
    truth = hourly_mean(pd.DatetimeIndex(frame["timestamp"]).tz_localize(None))
    assert np.abs(frame["forecast"] - truth).sum() / truth.sum() < 0.15


def test_all_zero_and_sparse_series_give_finite_non_negative_forecasts() -> None:
    wall = pd.date_range("2026-01-05", periods=28 * 24, freq="1h")
    zeros = run(VolumeHistory(wall=wall, volume=np.zeros(len(wall)), zone=UTC))
    assert (zeros[["forecast", "lo80", "hi80", "lo95", "hi95"]].to_numpy() == 0).all()
    sparse = np.random.default_rng(4).poisson(0.2, len(wall)).astype(float)
    frame = run(VolumeHistory(wall=wall, volume=sparse, zone=UTC))
    values = frame[["forecast", "lo80", "hi80", "lo95", "hi95"]].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert frame["forecast"].mean() == pytest.approx(0.2, abs=0.08)


def dublin_history(start: str, days: int) -> VolumeHistory:
    """Volume driven by Dublin local time, given as UTC instants converted to local wall time."""
    zone = ZoneInfo("Europe/Dublin")
    instants = pd.date_range(pd.Timestamp(start, tz=zone), periods=days * 24, freq="1h")
    local = instants.tz_convert(zone).tz_localize(None)
    volume = np.random.default_rng(8).poisson(hourly_mean(local)).astype(float)
    return VolumeHistory(wall=local, volume=volume, zone=zone)


def test_dst_changes_keep_the_local_peak_and_the_output_offsets() -> None:
    history = dublin_history("2026-09-07", 45)  # ends 22 October; 25 October falls back an hour
    frame = forecast_volume(history, step_minutes=60, horizon=timedelta(days=7)).frame
    stamps = list(frame["timestamp"])
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(stamps))
    assert len(frame) == 7 * 24
    assert {s.utcoffset() for s in stamps} == {timedelta(hours=1), timedelta(0)}
    local = pd.DatetimeIndex(frame["timestamp"]).tz_localize(None)
    assert (local.date == date(2026, 10, 25)).sum() == 25
    truth = hourly_mean(local)
    assert np.abs(frame["forecast"] - truth).sum() / truth.sum() < 0.15
    peaks = frame["forecast"].groupby(local.date).apply(lambda day: local[day.idxmax()].hour)
    assert set(peaks.iloc[1:-1]) <= {10, 11, 12}  # the peak stays at local late morning

    spring = dublin_history("2026-02-23", 35)  # crosses 29 March: one local hour never happens
    grid = to_grid(spring, 60, {})
    assert grid.filled == 1  # the skipped 01:00 slot is a gap, filled
    ahead = forecast_volume(spring, step_minutes=60, horizon=timedelta(days=7)).frame
    offsets = {s.utcoffset() for s in ahead["timestamp"]}
    assert offsets == {timedelta(hours=1)}


def test_outliers_are_clipped_before_fitting() -> None:
    history = poisson_history(42, seed=9)
    spiked = history.volume.copy()
    spike_at = 24 * 35 + 11  # Monday 11:00 of the last week
    spiked[spike_at] = 5000
    clean = run(history)
    with_spike = forecast_volume(
        VolumeHistory(wall=history.wall, volume=spiked, zone=UTC), step_minutes=60, horizon=timedelta(days=7)
    )
    assert with_spike.clipped >= 1
    assert with_spike.frame["forecast"][11] < clean["forecast"][11] * 1.5


def test_closed_days_forecast_zero_and_special_days_get_their_own_profile() -> None:
    history = poisson_history(49, seed=11)
    volume = history.volume.copy()
    past_specials = [date(2026, 1, 15), date(2026, 2, 5)]  # Thursdays with double volume
    for day in past_specials:
        row = (day - date(2026, 1, 5)).days
        volume[row * 24 : (row + 1) * 24] *= 2
    doubled = VolumeHistory(wall=history.wall, volume=volume, zone=UTC)
    days: dict[date, DayKind] = {day: DayKind.SPECIAL for day in past_specials}
    days[date(2026, 2, 26)] = DayKind.SPECIAL  # a Thursday in the horizon
    days[date(2026, 2, 24)] = DayKind.CLOSED  # a Tuesday in the horizon
    frame = run(doubled, special_days=days)
    normal = run(doubled)
    by_day = frame.groupby(pd.DatetimeIndex(frame["timestamp"]).date)["forecast"].sum()
    normal_by_day = normal.groupby(pd.DatetimeIndex(normal["timestamp"]).date)["forecast"].sum()
    assert by_day[date(2026, 2, 24)] == 0
    assert by_day[date(2026, 2, 26)] / normal_by_day[date(2026, 2, 26)] == pytest.approx(2.0, rel=0.25)
    assert by_day[date(2026, 2, 25)] == pytest.approx(normal_by_day[date(2026, 2, 25)], rel=0.1)


def test_finer_history_is_summed_into_the_interval_and_coarser_is_refused() -> None:
    fine = poisson_history(28, seed=12, step="15min")
    grid = to_grid(fine, 60, {})
    assert grid.values[3, 10] == fine.volume[(3 * 24 + 10) * 4 : (3 * 24 + 11) * 4].sum()
    with pytest.raises(ValidationFailed, match="coarser"):
        to_grid(poisson_history(28), 30, {})


def test_too_short_history_is_refused_by_name() -> None:
    with pytest.raises(ValidationFailed, match="at least 21"):
        run(poisson_history(10))


def test_horizon_starts_after_the_last_observation_even_mid_day() -> None:
    history = poisson_history(35)
    cut = len(history.wall) - 5  # ends at 18:00 on a Sunday
    partial = VolumeHistory(wall=history.wall[:cut], volume=history.volume[:cut], zone=UTC)
    frame = run(partial, days=1)
    assert frame["timestamp"].iloc[0] == pd.Timestamp(history.wall[cut], tz=UTC)
    assert frame["timestamp"].iloc[0].to_pydatetime() == datetime(2026, 2, 8, 19, tzinfo=UTC)


def test_thorough_adds_statsforecast_totals_and_still_recovers_the_pattern() -> None:
    history = poisson_history(42, seed=13)
    result = forecast_volume(history, step_minutes=60, horizon=timedelta(days=7), thorough=True)
    truth = hourly_mean(pd.DatetimeIndex(result.frame["timestamp"]).tz_localize(None))
    assert np.abs(result.frame["forecast"] - truth).sum() / truth.sum() < 0.12
    names, rows = statsforecast_totals(np.full(60, 100.0), np.arange(60) % 7, np.ones(7, dtype=bool), 60, 7)
    assert "AutoETS" in names[0]
    np.testing.assert_allclose(rows[0], 100.0, rtol=0.01)


def test_total_models_match_their_definitions_from_every_origin() -> None:
    totals = np.random.default_rng(14).poisson(100, 40).astype(float)
    weekday = np.arange(40) % 7
    open_days = np.array([True] * 5 + [False] * 2)
    names, table = total_models(totals, weekday, open_days, [20, 33])
    for position, origin in enumerate([20, 33]):
        past, past_weekday = totals[:origin], weekday[:origin]
        monday = past[past_weekday == 0]
        assert table[position, names.index("mean of last 2 same weekdays"), 0] == monday[-2:].mean()
        assert table[position, names.index("median of last 5 same weekdays"), 0] == np.median(monday[-5:])
        assert (table[position, :, 5:] == 0).all()  # closed weekdays forecast nothing
