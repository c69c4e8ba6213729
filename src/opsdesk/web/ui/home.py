"""The overview page: the desk at a glance for staff; requesters go to their portal."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import permissions
from opsdesk.insights.desk_overview import desk_overview
from opsdesk.web.deps import ClockDep, SessionDep, SettingsDep
from opsdesk.web.ui.auth import PageUser
from opsdesk.web.ui.charts import stacked_bars
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(
    request: Request, user: PageUser, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    if not user.is_staff:
        return RedirectResponse("/portal", status_code=303)
    if not permissions.has(user, permissions.TICKET_READ) and permissions.has(user, permissions.AUDIT_READ):
        return RedirectResponse("/audit", status_code=303)  # a compliance officer's desk is the log
    overview = desk_overview(session, user=user, clock=clock, soon_minutes=settings.breaching_soon_minutes)
    labels = [d.strftime("%d %b") for d in overview.days]
    created_chart = stacked_bars(
        {k: [float(v) for v in vs] for k, vs in overview.created_by_channel.items()},
        labels,
        title="Tickets created per day by channel",
    )
    solved_chart = stacked_bars(
        {"solved": [float(v) for v in overview.solved_per_day]}, labels, title="Tickets solved per day"
    )
    return page(
        request, "home.html", user, overview=overview, created_chart=created_chart, solved_chart=solved_chart
    )
