"""/workforce/intraday: today in the viewer's zone, computed on each visit (see workforce.intraday.day)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from opsdesk.core import permissions
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui import zones
from opsdesk.web.ui.auth import PageUser
from opsdesk.web.ui.charts import line_chart
from opsdesk.web.ui.render import page
from opsdesk.workforce.intraday.day import intraday_day
from opsdesk.workforce.intraday.schemas import IntradayOut

router = APIRouter(include_in_schema=False)


@router.get("/workforce/intraday")
def intraday(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.WORKFORCE_INTRADAY)
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    day = intraday_day(session, now=clock.now(), zone=zone)
    shown = IntradayOut.of(day)
    return page(
        request,
        "workforce/intraday.html",
        user,
        day=shown,
        now_row=shown.intervals[day.current],
        agents_chart=_agents_chart(shown),
        channel_charts=_channel_charts(shown),
    )


def _labels(day: IntradayOut) -> list[str]:
    """A label at each local full hour (the chart thins them)."""
    return [row.local_time if row.local_time.endswith(":00") else "" for row in day.intervals]


def _agents_chart(day: IntradayOut) -> Markup:
    return line_chart(
        {
            "required": [row.required for row in day.intervals],
            "required on shift": [row.required_on_shift for row in day.intervals],
            "scheduled": [row.scheduled for row in day.intervals],
            "online": [row.online for row in day.intervals],
        },
        _labels(day),
        markers=[(day.current_interval, "now")],
        dashed=frozenset({"required on shift"}),
        title=f"Agents required, scheduled and online per 15 minutes ({day.zone})",
    )


def _channel_charts(day: IntradayOut) -> list[tuple[str, Markup]]:
    charts = []
    for channel in day.channels:
        name = channel.channel
        charts.append(
            (
                name,
                line_chart(
                    {
                        "forecast": [row.forecast[name] for row in day.intervals],
                        "arrived": [row.actual[name] for row in day.intervals],
                        "re-forecast": [
                            row.reforecast[name] if i >= day.current_interval else None
                            for i, row in enumerate(day.intervals)
                        ],
                    },
                    _labels(day),
                    markers=[(day.current_interval, "now")],
                    dashed=frozenset({"forecast", "re-forecast"}),
                    height=180,
                    title=f"{name}: contacts per 15 minutes, forecast, arrived and re-forecast ({day.zone})",
                ),
            )
        )
    return charts
