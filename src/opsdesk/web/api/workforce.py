"""/api/v1/workforce: stored plan runs (forecast, staffing, site schedule, hiring) and building a new one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound
from opsdesk.desk.schemas import MAX_ID
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep
from opsdesk.workforce import actions, queries
from opsdesk.workforce.schemas import PlanBuildIn, PlanRunOut

router = APIRouter(tags=["workforce"], route_class=BoundedBodyRoute)
PlanId = Annotated[int, Path(ge=1, le=MAX_ID, description="The plan run's id")]


@router.get("/workforce/plans/latest", response_model=PlanRunOut)
def latest_plan(user: CurrentUser, session: SessionDep) -> PlanRunOut:
    permissions.require(user, permissions.WORKFORCE_READ)
    run = queries.latest_plan(session)
    if run is None:
        raise NotFound("no plan has been built yet")
    return PlanRunOut.of(run)


@router.get("/workforce/plans/{plan_id}", response_model=PlanRunOut)
def plan(plan_id: PlanId, user: CurrentUser, session: SessionDep) -> PlanRunOut:
    permissions.require(user, permissions.WORKFORCE_READ)
    return PlanRunOut.of(queries.plan_by_id(session, plan_id))


@router.post("/workforce/plans", status_code=201, response_model=PlanRunOut)
def build_plan(body: PlanBuildIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> PlanRunOut:
    """Builds in the request: a plan at 60-minute intervals takes seconds (the schedule's solve is capped
    by the configuration's schedule_time_limit_seconds)."""
    permissions.require(user, permissions.WORKFORCE_WRITE)
    run = actions.build_plan_run(session, created_by=user, clock=clock, config=body.config)
    session.commit()
    return PlanRunOut.of(run)
