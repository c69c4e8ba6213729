"""The planner page: forecast vs actual per channel, required vs scheduled agents by site, the hiring plan.

Everything shown comes from one stored plan run; "Build a new plan" builds the next one in the request
(a demo-sized plan takes a few seconds) from the latest run's configuration.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import permissions
from opsdesk.core.models import User
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.roster_flow import assign_and_publish
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.charts import line_chart, stacked_bars
from opsdesk.web.ui.render import page, templates
from opsdesk.workforce import actions, queries
from opsdesk.workforce.models import PlanRun

router = APIRouter(include_in_schema=False)
# The navigation in base.html shows the Planner link only to those who may read plans.
templates.env.globals["has_permission"] = permissions.has


@router.get("/planner")
def planner(request: Request, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.WORKFORCE_READ)
    run = queries.latest_plan(session)
    return _show(request, user, session, run)


@router.get("/planner/{run_id:int}")
def planner_run(request: Request, run_id: PathId, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.WORKFORCE_READ)
    return _show(request, user, session, queries.plan_by_id(session, run_id))


@router.post("/planner/build")
def build(user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.WORKFORCE_WRITE)
    run = actions.build_plan_run(session, created_by=user, clock=clock)
    session.commit()
    return RedirectResponse(f"/planner/{run.id}", status_code=303)


@router.post("/planner/{run_id:int}/assignment")
def assign(
    request: Request, run_id: PathId, user: FormUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Assign named agents to the run's week and publish their shifts; the result is shown at once
    (publishing the same week again changes nothing, so a repeated form post is harmless)."""
    permissions.require(user, permissions.WORKFORCE_WRITE)
    run = queries.plan_by_id(session, run_id)
    week = assign_and_publish(session, run=run, actor=user, clock=clock)
    session.commit()
    return page(request, "planner/roster.html", user, week=week, run=run)


def _show(request: Request, user: User, session: SessionDep, run: PlanRun | None) -> Response:
    context: dict[str, Any] = {
        "run": run,
        "can_build": permissions.has(user, permissions.WORKFORCE_WRITE),
        "has_lines": run is not None and "lines" in run.schedule,
        "recent": queries.recent_plans(session),
    }
    if run is not None:
        context |= {
            "forecasts": _forecast_views(run),
            "requirement_chart": _requirement_chart(run),
            "sites": _site_views(run),
            "hiring": _hiring_view(run),
        }
    return page(request, "planner/show.html", user, **context)


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _day_labels(stamps: list[str]) -> list[str]:
    """A label at each UTC midnight (the charts thin them), nothing in between."""
    labels = []
    for text in stamps:
        at = _stamp(text)
        labels.append(at.strftime("%d %b") if at.hour == 0 and at.minute == 0 else "")
    return labels


def _index_of(stamps: list[str], at: str | None) -> int | None:
    if at is None:
        return None
    target = _stamp(at)
    return next((i for i, text in enumerate(stamps) if _stamp(text) >= target), None)


def _forecast_views(run: PlanRun) -> list[dict[str, Any]]:
    views = []
    for channel, data in run.forecast.items():
        stamps = data["timestamps"]
        markers = []
        for at, text in ((data.get("cutoff"), "forecast cut-off"), (data["now"], "now")):
            index = _index_of(stamps, at)
            if index is not None:
                markers.append((index, text))
        chart = line_chart(
            {"forecast": data["forecast"], "actual": data["actual"]},
            _day_labels(stamps),
            band=(data["lo80"], data["hi80"]),
            markers=markers,
            dashed=frozenset({"forecast"}),
            title=f"{channel}: contacts per interval, actual and forecast (UTC)",
        )
        views.append({"channel": channel, "chart": chart, "data": data})
    return views


def _requirement_chart(run: PlanRun) -> Any:
    """Agent-hours to have on shift per day of the horizon, stacked by channel."""
    stamps = run.requirement["timestamps"]
    hours = _interval_hours(stamps)
    days = sorted({_stamp(text).date() for text in stamps})
    series = {}
    for channel, values in run.requirement["by_channel"].items():
        per_day: dict[Any, float] = defaultdict(float)
        for text, agents in zip(stamps, values, strict=True):
            per_day[_stamp(text).date()] += agents * hours
        series[channel] = [per_day[day] for day in days]
    return stacked_bars(
        series, [day.strftime("%d %b") for day in days], title="Agent-hours required per UTC day, by channel"
    )


def _interval_hours(stamps: list[str]) -> float:
    if len(stamps) < 2:
        return 1.0
    return (_stamp(stamps[1]) - _stamp(stamps[0])).total_seconds() / 3600


def _site_views(run: PlanRun) -> list[dict[str, Any]]:
    """Per site: its zone and UTC offset at the week's start, totals, and required vs scheduled."""
    schedule = run.schedule
    stamps = schedule["timestamps"]
    labels = _day_labels(stamps)
    hours = schedule["interval_minutes"] / 60
    start = _stamp(stamps[0])
    views = []
    total_required = [0.0] * len(stamps)
    total_scheduled = [0.0] * len(stamps)
    for name, data in schedule["sites"].items():
        offset = start.astimezone(ZoneInfo(data["timezone"])).strftime("%z")
        for i in range(len(stamps)):
            total_required[i] += data["required"][i]
            total_scheduled[i] += data["scheduled"][i]
        views.append(
            {
                "name": name,
                "timezone": data["timezone"],
                "offset": f"UTC{offset[:3]}:{offset[3:]}",
                "status": data["status"],
                "shifts": data["shifts"],
                "agents": data["agents"],
                "headcount": data["headcount"],
                "required_hours": sum(data["required"]) * hours,
                "scheduled_hours": sum(data["scheduled"]) * hours,
                "under_hours": sum(data["under"]) * hours,
                "over_hours": sum(data["over"]) * hours,
                "chart": line_chart(
                    {"required": data["required"], "scheduled": data["scheduled"]},
                    labels,
                    height=170,
                    title=f"{name}: agents required and scheduled per interval (UTC)",
                ),
            }
        )
    if schedule["unserved"] and any(schedule["unserved"]):
        total_required = [r + u for r, u in zip(total_required, schedule["unserved"], strict=True)]
    overall = line_chart(
        {"required": total_required, "scheduled": total_scheduled},
        labels,
        title="All sites: agents required and scheduled per interval (UTC)",
    )
    return [{"name": "All sites", "chart": overall, "total": True}, *views]


def _hiring_view(run: PlanRun) -> dict[str, Any]:
    rows = run.hiring["rows"]
    months = sorted({row["month"] for row in rows})
    sites = list(dict.fromkeys(row["site"] for row in rows))
    hires: dict[str, list[float]] = {site: [0.0] * len(months) for site in sites}
    headcount = [0.0] * len(months)
    required = [0.0] * len(months)
    productive = [0.0] * len(months)
    for row in rows:
        m = months.index(row["month"])
        hires[row["site"]][m] += row["hires_starting"]
        headcount[m] += row["headcount"]
        required[m] += row["required_fte"]
        productive[m] += row["productive_fte"]
    return {
        "rows": rows,
        "total_hires": sum(row["hires_starting"] for row in rows),
        "hires_chart": stacked_bars(hires, months, title="Hires starting per month, by site"),
        "fte_chart": line_chart(
            {"required FTE": required, "headcount": headcount, "productive FTE": productive},
            months,
            dashed=frozenset({"productive FTE"}),
            title="Headcount and productive FTE against required FTE, all sites",
        ),
    }
