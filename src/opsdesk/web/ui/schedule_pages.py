"""The agent's own schedule (published shifts and time off, in the viewer's zone) with the time-off
request form, shift swaps (``swap_pages``) and their iCalendar feed, and the leads' page of pending
time-off requests to decide."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator

from opsdesk.core import permissions
from opsdesk.core.bounds import in_years
from opsdesk.core.errors import PermissionDenied
from opsdesk.desk.routing.queries import published_shifts
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.time_off_flow import decide_and_publish
from opsdesk.web.ui import zones
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.render import page
from opsdesk.web.ui.schedule_view import overlapping, schedule_page
from opsdesk.workforce.time_off import actions, queries
from opsdesk.workforce.time_off.calendar import CalendarEntry, schedule_calendar
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffStatus

router = APIRouter(include_in_schema=False)
FEED_BACK_DAYS, FEED_AHEAD_DAYS = 30, 90
FormDay = Annotated[date, Form(), AfterValidator(in_years)]
Note = Annotated[str, Form(max_length=500)]


@router.get("/me/schedule")
def my_schedule(request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep) -> Response:
    return schedule_page(request, user, session, clock)


@router.post("/me/schedule/feed-token")
def post_feed_token(request: Request, user: StaffFormUser, session: SessionDep, clock: ClockDep) -> Response:
    """A new calendar-feed address, shown once on this response (only its hash is stored)."""
    token = actions.regenerate_feed_token(session, user=user, clock=clock)
    session.commit()
    url = f"{str(request.base_url).rstrip('/')}/me/schedule.ics?token={token}"
    return schedule_page(request, user, session, clock, feed_url=url)


@router.get("/me/schedule.ics")
def schedule_feed(
    session: SessionDep,
    clock: ClockDep,
    token: Annotated[str, Query(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")],
) -> Response:
    """The agent's published shifts and approved time off from 30 days back to 90 ahead, for calendar
    apps; opened by the secret in the address, as they cannot sign in."""
    user = queries.user_for_feed_token(session, token)
    if user is None:
        raise PermissionDenied("this calendar address is not valid (it may have been regenerated)")
    now = clock.now()
    start, end = now - timedelta(days=FEED_BACK_DAYS), now + timedelta(days=FEED_AHEAD_DAYS)
    approved = [
        r for r in queries.requests_of(session, user, ends_after=start) if r.status is TimeOffStatus.APPROVED
    ]
    entries = [
        CalendarEntry(
            uid=f"time-off-{r.id}@opsdesk",
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            summary=f"Time off ({r.kind.value})",
            description=r.note,
        )
        for r in approved
        if r.starts_at < end
    ]
    for shift in published_shifts(session, user.id, start, end):
        off = overlapping(shift, approved)
        entries.append(
            CalendarEntry(
                uid=f"shift-{shift.id}@opsdesk",
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                summary=f"Shift (off: {off.kind.value})" if off else "Shift",
                cancelled=off is not None,
            )
        )
    body = schedule_calendar(f"{user.name} - OpsDesk schedule", entries, stamp=now)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "no-store"})


@router.post("/me/time-off")
def post_time_off(
    request: Request,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    kind: Annotated[TimeOffKind, Form()],
    first_day: FormDay,
    last_day: FormDay,
    note: Note = "",
) -> Response:
    """Whole days in the viewer's zone: from the first day's midnight to the midnight after the last."""
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    actions.request_time_off(
        session,
        agent=user,
        kind=kind,
        starts_at=datetime.combine(first_day, time(), zone),
        ends_at=datetime.combine(last_day + timedelta(days=1), time(), zone),
        note=note,
        clock=clock,
    )
    session.commit()
    return RedirectResponse("/me/schedule", status_code=303)


@router.get("/workforce/time-off")
def pending_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    return page(
        request,
        "schedule/pending.html",
        user,
        pending=queries.requests_with_status(session, TimeOffStatus.PENDING),
    )


@router.post("/workforce/time-off/{request_id}")
def post_decision(
    request_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    decision: Annotated[Literal["approve", "reject"], Form()],
    note: Note = "",
) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    row = queries.request_by_id(session, request_id)
    decide_and_publish(session, request=row, approve=decision == "approve", lead=user, note=note, clock=clock)
    session.commit()
    return RedirectResponse("/workforce/time-off", status_code=303)
