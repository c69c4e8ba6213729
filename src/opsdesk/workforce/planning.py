"""A planning run from the desk's own history: forecast -> staffing -> site split -> schedule -> hiring.

Per channel, the desk's ticket history is forecast twice: once from history up to a cut-off some days ago
(a back-test whose overlap with what actually came in shows how good the forecast is) and once from
everything up to now, for the horizon ahead. The future forecast is staffed with the channel's targets
(agents to have on shift, after shrinkage), each channel's requirement is split follow-the-sun across the
open sites, the first week of the horizon is scheduled with CP-SAT, and the hiring plan is projected.

All times are UTC on the interval grid; site opening hours are evaluated on each site's own clock by the
site split and the scheduler. The run is stored with its configuration, so a rebuild reuses it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import OpsDeskError, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.workforce.coverage import CoverageSplit, split_requirement
from opsdesk.workforce.forecasting.forecaster import VolumeForecast, forecast_volume
from opsdesk.workforce.forecasting.history import MIN_HISTORY_DAYS, history_from_frame
from opsdesk.workforce.hiring import HiringPlan, plan_hiring
from opsdesk.workforce.models import PlanRun, PlanStatus
from opsdesk.workforce.queries import contact_volume_history
from opsdesk.workforce.scheduling import Horizon, schedule_sites
from opsdesk.workforce.scheduling.model import SiteSchedule
from opsdesk.workforce.sites import SitesConfig, validation_failed
from opsdesk.workforce.staffing import Channel, StaffingTargets, staff_intervals

Progress = Callable[[str], None]
"""Called once per finished step with a short description of it (see `plan_steps`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelPlan(_Strict):
    """Handle time and targets of one channel (see opsdesk.workforce.staffing for the models)."""

    aht_seconds: float = Field(gt=0)
    service_level: float = 0.8
    answer_within_seconds: float = 20
    asa_seconds: float | None = None
    shrinkage: float = 0.3
    max_occupancy: float = 1.0
    patience_seconds: float | None = None
    concurrency: int = 1


class PlanConfig(_Strict):
    interval_minutes: int = 60
    horizon_days: int = Field(default=14, ge=7, le=56)  # at least the week that is scheduled
    actual_days: int = Field(default=21, ge=1, le=91)  # recent actual volume shown against the forecast
    backtest_days: int = Field(default=7, ge=1, le=28)  # the back-test forecast starts this long ago
    schedule_time_limit_seconds: float = Field(default=10.0, gt=0, le=120)
    channels: dict[Channel, ChannelPlan] = Field(min_length=1)
    sites: SitesConfig
    hiring: HiringPlan

    @field_validator("interval_minutes")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value not in (15, 30, 60):
            raise ValueError("the interval is 15, 30 or 60 minutes")
        return value


def parse_config(data: Any) -> tuple[PlanConfig, dict[Channel, StaffingTargets]]:
    """The checked configuration and each channel's staffing targets; errors name the key path."""
    if not isinstance(data, dict):
        raise ValidationFailed("the plan configuration must be a mapping of keys", field="config")
    try:
        config = PlanConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None
    targets: dict[Channel, StaffingTargets] = {}
    for channel, plan in config.channels.items():
        try:
            targets[channel] = StaffingTargets(
                channel=channel, interval_seconds=config.interval_minutes * 60, **plan.model_dump()
            )
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"channels.{channel.value}.{exc.field}") from None
    return config, targets


def plan_steps(config: PlanConfig) -> int:
    """How many times `build_plan` reports progress: each channel, the split, each site, the hiring plan."""
    return len(config.channels) + 1 + len(config.sites.sites) + 1


def build_plan(
    session: Session,
    *,
    config: dict[str, Any],
    clock: Clock,
    created_by: User | None = None,
    progress: Progress | None = None,
) -> PlanRun:
    """Build and store a plan run from the desk's history up to now. Flushes, never commits."""
    started = time.monotonic()
    checked, targets = parse_config(config)
    report = progress or (lambda _what: None)
    step = timedelta(minutes=checked.interval_minutes)
    now = pd.Timestamp(clock.now()).tz_convert(UTC)
    start = now.floor(step)  # the interval now falls in is the first one planned
    grid = pd.date_range(start, periods=checked.horizon_days * 24 * 60 // checked.interval_minutes, freq=step)

    forecast: dict[str, Any] = {}
    staffed: dict[str, pd.Series] = {}
    notes: list[str] = []
    for channel, channel_targets in targets.items():
        try:
            forecast[channel.value], future = _forecast_channel(session, channel, checked, start, grid)
        except OpsDeskError as exc:
            notes.append(f"{channel.value} left out: {exc.message}")
            report(f"{channel.value}: left out")
            continue
        frame = staff_intervals(
            {"timestamp": grid, "volume": np.round(future, 2)}, channel_targets
        )  # two decimals keep the exact staffing arithmetic on small denominators
        staffed[channel.value] = pd.Series(frame["scheduled_agents"].to_numpy(), index=grid)
        report(f"{channel.value}: forecast and staffed")
    if not staffed:
        raise ValidationFailed(
            "no channel has enough desk history to plan from (" + "; ".join(notes) + ")", field="channels"
        )

    splits = {
        name: split_requirement(series, checked.sites.sites, checked.sites.demand_mix)
        for name, series in staffed.items()
    }
    requirement = _requirement_section(grid, staffed, splits, checked.sites)
    report("split across sites")

    week = Horizon(
        start=start.to_pydatetime(), interval=step, periods=7 * 24 * 60 // checked.interval_minutes
    )
    week_split = _first_week(splits, week)
    schedules = schedule_sites(
        week_split,
        checked.sites,
        week,
        time_limit=checked.schedule_time_limit_seconds,
        on_site_done=lambda done: report(f"scheduled {done.site}"),
    )
    schedule = _schedule_section(week, schedules, week_split, checked.sites)

    hiring_table = plan_hiring(checked.hiring)
    hiring = {
        "rows": [
            {
                key: (None if isinstance(value, float) and np.isnan(value) else value)
                for key, value in row.items()
            }
            for row in hiring_table.to_dict(orient="records")
        ]
    }
    report("hiring plan")

    summary = {
        "channels": sorted(staffed),
        "notes": notes,
        "start": start.isoformat(),
        "peak_required": int(sum(staffed.values()).max()),
        "scheduled_week": schedule["totals"],
        "hires": int(hiring_table["hires_starting"].sum()),
        "lowest_coverage_pct": _lowest(hiring_table["coverage_pct"]),
    }
    run = PlanRun(
        created_at=clock.now(),
        created_by_id=created_by.id if created_by is not None else None,
        status=PlanStatus.PARTIAL if notes else PlanStatus.COMPLETE,
        build_ms=int((time.monotonic() - started) * 1000),
        config=json.loads(json.dumps(config, default=str)),
        forecast=forecast,
        requirement=requirement,
        schedule=schedule,
        hiring=hiring,
        summary=summary,
    )
    session.add(run)
    session.flush()
    append_event(
        session,
        subject_type="plan_run",
        subject_id=run.id,
        type="plan_built",
        at=run.created_at,
        actor=created_by,
        data={"status": run.status.value, "channels": summary["channels"], "hires": summary["hires"]},
    )
    return run


def _lowest(values: pd.Series) -> float | None:
    present = values.dropna()
    return None if present.empty else float(present.min())


def _forecast_channel(
    session: Session, channel: Channel, config: PlanConfig, start: pd.Timestamp, grid: pd.DatetimeIndex
) -> tuple[dict[str, Any], np.ndarray]:
    """The chart series of one channel, and its future forecast on `grid`.

    The history is zero-filled up to the last whole interval: a quiet last hour is zero volume, and
    every channel's forecast then starts at the same instant.
    """
    step = grid.freq
    raw = contact_volume_history(
        session, channel=channel.value, step_minutes=config.interval_minutes, before=start.to_pydatetime()
    )
    if raw.empty:
        raise ValidationFailed(f"the desk has no {channel.value} tickets yet", field=channel.value)
    index = pd.date_range(raw["timestamp"].iloc[0], start - step, freq=step)
    history = pd.Series(raw["volume"].to_numpy(), index=pd.DatetimeIndex(raw["timestamp"])).reindex(
        index, fill_value=0.0
    )
    source = f"the desk's {channel.value} history"
    future = _forecast(history, source, start, grid[-1] + step - start)
    cutoff = start.normalize() - timedelta(days=config.backtest_days)
    backtest: VolumeForecast | None
    try:
        backtest = _forecast(history[history.index < cutoff], source, cutoff, start - cutoff)
        backtest_note = None
    except ValidationFailed as exc:  # too little history before the cut-off: show the future only
        backtest, backtest_note = None, exc.message
    shown_from = min(start.normalize() - timedelta(days=config.actual_days), cutoff)
    timeline = pd.date_range(shown_from, grid[-1], freq=step)
    actual = history.reindex(timeline)
    fitted = pd.concat(
        [part.frame.set_index("timestamp") for part in (backtest, future) if part is not None]
    ).reindex(timeline)
    overlap = actual.index >= cutoff
    errors = _backtest_errors(actual[overlap], fitted["forecast"][overlap]) if backtest else {}
    series = {
        "timestamps": [stamp.isoformat() for stamp in timeline],
        "actual": _values(actual),
        "forecast": _values(fitted["forecast"]),
        "lo80": _values(fitted["lo80"]),
        "hi80": _values(fitted["hi80"]),
        "cutoff": cutoff.isoformat() if backtest else None,
        "now": start.isoformat(),
        "model": future.model,
        "cv_mae": round(future.cv_mae, 3),
        "backtest_model": backtest.model if backtest else None,
        "backtest_note": backtest_note,
        **errors,
    }
    return series, future.frame["forecast"].to_numpy()


def _forecast(history: pd.Series, source: str, first: pd.Timestamp, horizon: timedelta) -> VolumeForecast:
    if history.empty:
        raise ValidationFailed(
            f"{source} has nothing before {first:%Y-%m-%d %H:%M} UTC; at least {MIN_HISTORY_DAYS} days"
            " are needed",
            field="history",
        )
    frame = pd.DataFrame({"timestamp": history.index, "volume": history.to_numpy()})
    step_minutes = int(history.index.freq / timedelta(minutes=1))
    result = forecast_volume(
        history_from_frame(frame, source=source), step_minutes=step_minutes, horizon=horizon
    )
    result.frame["timestamp"] = pd.DatetimeIndex(result.frame["timestamp"]).tz_convert(UTC)
    return result


def _backtest_errors(actual: pd.Series, predicted: pd.Series) -> dict[str, Any]:
    """How the back-test did where both exist: total error share (WAPE), bias, and 80% band coverage."""
    both = actual.notna() & predicted.notna()
    total = float(actual[both].sum())
    if not both.any() or total <= 0:
        return {}
    difference = predicted[both] - actual[both]
    return {
        "backtest_wape_pct": round(100 * float(difference.abs().sum()) / total, 1),
        "backtest_bias_pct": round(100 * float(difference.sum()) / total, 1),
        "backtest_actual": round(total, 1),
        "backtest_forecast": round(float(predicted[both].sum()), 1),
    }


def _values(series: pd.Series) -> list[float | None]:
    return [None if pd.isna(value) else round(float(value), 3) for value in series]


def _requirement_section(
    grid: pd.DatetimeIndex,
    staffed: dict[str, pd.Series],
    splits: dict[str, CoverageSplit],
    sites: SitesConfig,
) -> dict[str, Any]:
    position = {stamp: i for i, stamp in enumerate(grid)}
    by_site: dict[str, dict[str, list[int]]] = {site.name: {} for site in sites.sites}
    unserved = [0] * len(grid)
    for channel, split in splits.items():
        for site in sites.sites:
            by_site[site.name][channel] = [0] * len(grid)
        for row in split.required.itertuples():
            by_site[str(row.site)][channel][position[pd.Timestamp(row.timestamp)]] += int(row.required)
        for row in split.unserved.itertuples():
            unserved[position[pd.Timestamp(row.timestamp)]] += int(row.required)
    return {
        "timestamps": [stamp.isoformat() for stamp in grid],
        "by_channel": {channel: [int(v) for v in series] for channel, series in staffed.items()},
        "by_site": by_site,
        "unserved": unserved,
    }


def _first_week(splits: dict[str, CoverageSplit], week: Horizon) -> CoverageSplit:
    """Every channel's split rows inside the scheduled week (a site's agents are shared across channels)."""
    end = pd.Timestamp(week.end)

    def inside(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[pd.to_datetime(frame["timestamp"], utc=True) < end]

    return CoverageSplit(
        required=pd.concat([inside(split.required) for split in splits.values()], ignore_index=True),
        unserved=pd.concat([inside(split.unserved) for split in splits.values()], ignore_index=True),
    )


def _schedule_section(
    week: Horizon, schedules: list[SiteSchedule], split: CoverageSplit, sites: SitesConfig
) -> dict[str, Any]:
    unserved = [0] * week.periods
    for row in split.unserved.itertuples():
        unserved[int((pd.Timestamp(row.timestamp) - pd.Timestamp(week.start)) / week.interval)] += int(
            row.required
        )
    by_site: dict[str, dict[str, Any]] = {}
    for result in schedules:
        site = sites.site(result.site)
        by_site[result.site] = {
            "timezone": site.timezone,
            "status": result.status,
            "shifts": len(result.shifts),
            "agents": len({shift.agent for shift in result.shifts}),
            "headcount": site.headcount,
            "required": [int(v) for v in result.required],
            "scheduled": [int(v) for v in result.scheduled],
            "under": [int(v) for v in result.under],
            "over": [int(v) for v in result.over],
        }
    lines = []
    for result in schedules:
        site = sites.site(result.site)
        teams = {team.name: team for team in site.teams}
        for shift in result.shifts:
            length = int((shift.end - shift.start).total_seconds() // 60)
            lines.append(
                {
                    "line": shift.agent,
                    "site": shift.site,
                    "team": shift.team,
                    "skills": list(teams[shift.team].skills),
                    "languages": list(teams[shift.team].languages),
                    "start": shift.start.isoformat(),
                    "end": shift.end.isoformat(),
                    "work_minutes": length - site.shifts.break_minutes,
                }
            )
    lost = sum(unserved)
    required = sum(int(result.required.sum()) for result in schedules) + lost
    under = sum(int(result.under.sum()) for result in schedules) + lost
    totals: dict[str, Any] = {
        "required": required,
        "scheduled": sum(int(result.scheduled.sum()) for result in schedules),
        "under": under,
        "over": sum(int(result.over.sum()) for result in schedules),
        "unserved": lost,
        "shifts": sum(len(result.shifts) for result in schedules),
        "covered_pct": round(100 * (required - under) / required, 1) if required else None,
    }
    return {
        "timestamps": [week.at(p).isoformat() for p in range(week.periods)],
        "interval_minutes": week.interval_minutes,
        "sites": by_site,
        "unserved": unserved,
        "totals": totals,
        # Every shift of every schedule line, so named agents can be assigned to them later.
        "lines": lines,
    }
