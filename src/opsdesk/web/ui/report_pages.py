"""The admin's reports page: the weekly report's schedule (recipients, weekday, hour, zone, on/off),
when it goes next and the weeks already sent. The same action as the API's PUT."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import permissions
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.web.api.params import FormLine
from opsdesk.web.api.report_schedule import schedule_out
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
BACK = "/admin/reports"


def _render(
    request: Request, user: User, session: SessionDep, clock: ClockDep, *, error: str | None = None
) -> Response:
    from opsdesk.insights.reports.schedule import WEEKDAYS

    return page(
        request,
        "admin/reports.html",
        user,
        status_code=422 if error else 200,
        schedule=schedule_out(session, clock.now()),
        weekdays=WEEKDAYS,
        error=error,
    )


@router.get("/admin/reports")
def reports_page(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    return _render(request, user, session, clock)


@router.post("/admin/reports")
def save_schedule(
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    recipients: FormLine,
    weekday: Annotated[int, Form(ge=0, le=6)],
    hour: Annotated[int, Form(ge=0, le=23)],
    timezone: Annotated[str, Form(max_length=64)],
    active: FormLine = "",
) -> Response:
    """``recipients``: addresses separated by commas, spaces or lines."""
    from opsdesk.insights.reports.schedule import set_schedule

    permissions.require(user, permissions.SETTINGS_MANAGE)
    try:
        set_schedule(
            session,
            recipients=recipients.replace(",", " ").split(),
            weekday=weekday,
            hour=hour,
            timezone=timezone.strip(),
            active=active == "on",
            actor=user,
            now=clock.now(),
        )
    except ValidationFailed as exc:
        session.rollback()
        return _render(request, user, session, clock, error=f"{exc.message} ({exc.field})")
    session.commit()
    return RedirectResponse(BACK, status_code=303)
