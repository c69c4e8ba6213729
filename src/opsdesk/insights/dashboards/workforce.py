"""The workforce dashboard, from the latest plan run (``workforce.planning``): contacts forecast
against actual per day, and agent-hours required against scheduled per site and per day of the
scheduled week. Days are the viewer's: each interval (UTC in the plan) is put on the day it falls on in
the zone given."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.panels import Column, Panel
from opsdesk.workforce.models import PlanRun
from opsdesk.workforce.queries import latest_plan


def _local_day(stamp: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(stamp)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date().isoformat()


_CHOICES: dict[tuple[str, int], tuple[tuple[str, ...], tuple[str, ...]]] = {}


def plan_choices(session: Session) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The channels and sites of the latest plan: what the workforce filters offer. A plan run never
    changes once built, so they are read once per run (its forecast is large)."""
    latest = session.scalar(
        select(PlanRun.id).order_by(PlanRun.created_at.desc(), PlanRun.id.desc()).limit(1)
    )
    if latest is None:
        return (), ()
    key = (str(session.get_bind().engine.url), int(latest))
    if key not in _CHOICES:
        run = session.get(PlanRun, latest)
        assert run is not None
        _CHOICES.clear()
        _CHOICES[key] = (tuple(sorted(run.forecast)), tuple(sorted(run.schedule.get("sites", {}))))
    return _CHOICES[key]


def workforce_dashboard(session: Session, where: DashboardFilter, *, zone: ZoneInfo) -> list[Panel]:
    run = latest_plan(session)
    if run is None:
        return []
    note = f"Plan run #{run.id}; days in {zone.key}."
    actual: dict[str, float] = defaultdict(float)
    forecast: dict[str, float] = defaultdict(float)
    for channel, data in sorted(run.forecast.items()):
        if where.channels and channel not in where.channels:
            continue
        for stamp, seen, expected in zip(data["timestamps"], data["actual"], data["forecast"], strict=True):
            day = _local_day(stamp, zone)
            if (
                not where.start.isoformat() <= day <= where.end.isoformat()
                or seen is None
                or expected is None
            ):
                continue
            actual[day] += float(seen)
            forecast[day] += float(expected)
    schedule = run.schedule
    hours = schedule["interval_minutes"] / 60
    site_rows = []
    required_day: dict[str, float] = defaultdict(float)
    scheduled_day: dict[str, float] = defaultdict(float)
    for site, data in sorted(schedule.get("sites", {}).items()):
        if where.sites and site not in where.sites:
            continue
        site_rows.append(
            [
                site,
                round(sum(data["required"]) * hours, 2),
                round(sum(data["scheduled"]) * hours, 2),
                round(sum(data["under"]) * hours, 2),
                round(sum(data["over"]) * hours, 2),
            ]
        )
        for stamp, required, scheduled in zip(
            schedule["timestamps"], data["required"], data["scheduled"], strict=True
        ):
            day = _local_day(stamp, zone)
            required_day[day] += required * hours
            scheduled_day[day] += scheduled * hours
    return [
        Panel(
            "forecast_actual",
            "Contacts per day: forecast against actual",
            [
                Column("day", "Day"),
                Column("forecast", "Forecast", "count"),
                Column("actual", "Actual", "count"),
            ],
            [[d, round(forecast[d], 1), round(actual[d], 1)] for d in sorted(actual)],
            x="day",
            series=["forecast", "actual"],
            note=note + " Only days with both a forecast (the back-test) and actual volume are shown.",
        ),
        Panel(
            "required_site",
            "Scheduled week: agent-hours required against scheduled, per site",
            [
                Column("site", "Site"),
                Column("required_h", "Required", "hours"),
                Column("scheduled_h", "Scheduled", "hours"),
                Column("under_h", "Short", "hours"),
                Column("over_h", "Over", "hours"),
            ],
            site_rows,
            x="site",
            series=["required_h", "scheduled_h"],
            note=note,
        ),
        Panel(
            "required_day",
            "Scheduled week: agent-hours required against scheduled, per day",
            [
                Column("day", "Day"),
                Column("required_h", "Required", "hours"),
                Column("scheduled_h", "Scheduled", "hours"),
            ],
            [[d, round(required_day[d], 2), round(scheduled_day[d], 2)] for d in sorted(required_day)],
            x="day",
            series=["required_h", "scheduled_h"],
            note=note,
        ),
    ]
