"""The agent's own schedule (published shifts and time off, in the viewer's zone) with the time-off
request form, and the leads' page of pending time-off requests to approve or reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator

from opsdesk.core import permissions
from opsdesk.core.bounds import in_years
from opsdesk.desk.routing.models import AgentShift
from opsdesk.desk.routing.queries import published_shifts
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.time_off_flow import decide_and_publish
from opsdesk.web.ui import zones
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.render import page
from opsdesk.workforce.time_off import actions, queries
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffRequest, TimeOffStatus

router = APIRouter(include_in_schema=False)
SHOWN_DAYS = 28
FormDay = Annotated[date, Form(), AfterValidator(in_years)]
Note = Annotated[str, Form(max_length=500)]


@dataclass(frozen=True)
class ShiftRow:
    shift: AgentShift
    off: TimeOffRequest | None  # the approved time off that takes this shift, if any


def _overlapping(shift: AgentShift, approved: list[TimeOffRequest]) -> TimeOffRequest | None:
    return next((t for t in approved if t.starts_at < shift.ends_at and shift.starts_at < t.ends_at), None)


@router.get("/me/schedule")
def my_schedule(request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep) -> Response:
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    today = clock.now().astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    requests = list(queries.requests_of(session, user, ends_after=start - timedelta(days=SHOWN_DAYS)))
    approved = [r for r in requests if r.status is TimeOffStatus.APPROVED]
    shifts = published_shifts(session, user.id, start, start + timedelta(days=SHOWN_DAYS))
    return page(
        request,
        "schedule/mine.html",
        user,
        shifts=[ShiftRow(s, _overlapping(s, approved)) for s in shifts],
        requests=requests,
        kinds=list(TimeOffKind),
        today=today,
        days=SHOWN_DAYS,
    )


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
