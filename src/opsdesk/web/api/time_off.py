"""/api/v1/workforce/time-off: an agent requests time off for themselves; a support lead or admin lists
what is pending and approves (publishing the absence to routing) or rejects it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opsdesk.core import permissions
from opsdesk.web.api.params import PathId
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep
from opsdesk.web.time_off_flow import decide_and_publish
from opsdesk.workforce.time_off import actions, queries
from opsdesk.workforce.time_off.models import TimeOffStatus
from opsdesk.workforce.time_off.schemas import DecisionIn, TimeOffIn, TimeOffOut

router = APIRouter(tags=["workforce"], route_class=BoundedBodyRoute)


@router.post("/workforce/time-off", status_code=201, response_model=TimeOffOut)
def request_time_off(body: TimeOffIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> TimeOffOut:
    """Ask for time off for yourself; it is pending until a support lead or admin decides."""
    row = actions.request_time_off(
        session,
        agent=user,
        kind=body.kind,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        note=body.note,
        clock=clock,
    )
    session.commit()
    return TimeOffOut.of(row)


@router.get("/workforce/time-off/mine", response_model=list[TimeOffOut])
def my_time_off(user: CurrentUser, session: SessionDep) -> list[TimeOffOut]:
    return [TimeOffOut.of(r) for r in queries.requests_of(session, user)]


@router.get("/workforce/time-off", response_model=list[TimeOffOut])
def time_off_with_status(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[TimeOffStatus, Query(description="Which requests")] = TimeOffStatus.PENDING,
) -> list[TimeOffOut]:
    """Everyone's requests with that status (support leads and admins)."""
    permissions.require(user, permissions.ROUTING_MANAGE)
    return [TimeOffOut.of(r) for r in queries.requests_with_status(session, status)]


def _decide(
    request_id: int, approve: bool, body: DecisionIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TimeOffOut:
    permissions.require(user, permissions.ROUTING_MANAGE)
    request = queries.request_by_id(session, request_id)
    decide_and_publish(session, request=request, approve=approve, lead=user, note=body.note, clock=clock)
    session.commit()
    return TimeOffOut.of(request)


@router.post("/workforce/time-off/{request_id}/approve", response_model=TimeOffOut)
def approve(
    request_id: PathId, body: DecisionIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TimeOffOut:
    """Approve: routing treats the agent as off shift through the time off, whatever shifts are published."""
    return _decide(request_id, True, body, user, session, clock)


@router.post("/workforce/time-off/{request_id}/reject", response_model=TimeOffOut)
def reject(
    request_id: PathId, body: DecisionIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TimeOffOut:
    return _decide(request_id, False, body, user, session, clock)
