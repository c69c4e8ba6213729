"""The agent's own schedule (published shifts and time off, in the viewer's zone) with the time-off
request form, shift swaps (``swap_pages``) and their iCalendar feed, and the leads' page of pending
time-off requests to decide. A refused time-off form answers with its page again (the API's status), the
message at the top and the field at fault marked."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.errors import Conflict, NotFound, OpsDeskError, PermissionDenied, ValidationFailed
from opsdesk.core.models import User
from opsdesk.desk.routing.queries import published_shifts
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.time_off_flow import decide_and_publish
from opsdesk.web.ui import zones
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.form_values import optional_day
from opsdesk.web.ui.render import page
from opsdesk.web.ui.schedule_view import error_status, form_error, overlapping, schedule_page
from opsdesk.workforce.time_off import actions, queries
from opsdesk.workforce.time_off.calendar import CalendarEntry, schedule_calendar
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffStatus

router = APIRouter(include_in_schema=False)
FEED_BACK_DAYS, FEED_AHEAD_DAYS = 30, 90
Typed = Annotated[str, Form(max_length=40)]  # checked here, so a blank or bad value is a field on the page
Note = Annotated[str, Form(max_length=500)]
REFUSALS = (ValidationFailed, Conflict, PermissionDenied, NotFound)
FORM_FIELD = {"starts_at": "first_day", "ends_at": "last_day"}  # the domain's names -> the form's


def _day(values: dict[str, str], field: str) -> date:
    day = optional_day(values[field], field)
    if day is None:
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    return day


def _kind(text: str) -> TimeOffKind:
    try:
        return TimeOffKind(text)
    except ValueError:
        raise ValidationFailed("choose a kind of time off", field="kind") from None


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
    kind: Typed = "",
    first_day: Typed = "",
    last_day: Typed = "",
    note: Note = "",
) -> Response:
    """Whole days in the viewer's zone: from the first day's midnight to the midnight after the last."""
    values = {"kind": kind, "first_day": first_day, "last_day": last_day, "note": note}
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    try:
        chosen = _kind(kind)
        first, last = _day(values, "first_day"), _day(values, "last_day")
        actions.request_time_off(
            session,
            agent=user,
            kind=chosen,
            starts_at=datetime.combine(first, time(), zone),
            ends_at=datetime.combine(last + timedelta(days=1), time(), zone),
            note=note,
            clock=clock,
        )
    except REFUSALS as exc:
        session.rollback()
        named = type(exc)(exc.message, field=FORM_FIELD.get(exc.field or "", exc.field))
        return schedule_page(request, user, session, clock, error=named, form="time-off", values=values)
    session.commit()
    return RedirectResponse("/me/schedule", status_code=303)


def _pending_page(
    request: Request,
    user: User,
    session: Session,
    error: OpsDeskError | None = None,
    request_id: int | None = None,
    note: str = "",
) -> Response:
    return page(
        request,
        "schedule/pending.html",
        user,
        status_code=error_status(error),
        pending=queries.requests_with_status(session, TimeOffStatus.PENDING),
        decision_error=form_error(error, form="decision", values={"note": note}, request_id=request_id),
    )


@router.get("/workforce/time-off")
def pending_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    return _pending_page(request, user, session)


@router.post("/workforce/time-off/{request_id}")
def post_decision(
    request: Request,
    request_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    decision: Annotated[Literal["approve", "reject"], Form()],
    note: Note = "",
) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)  # anyone else gets the error page, not the list
    row = queries.request_by_id(session, request_id)  # a request that does not exist: the error page
    try:
        decide_and_publish(
            session, request=row, approve=decision == "approve", lead=user, note=note, clock=clock
        )
    except REFUSALS as exc:
        session.rollback()
        return _pending_page(request, user, session, exc, request_id, note)
    session.commit()
    return RedirectResponse("/workforce/time-off", status_code=303)
