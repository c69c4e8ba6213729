"""/api/v1/workforce: agents' contracted hours, and named agents assigned to a plan run's week and
published as routing's shifts (leads and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from opsdesk.core import permissions
from opsdesk.core.models import User
from opsdesk.core.queries import get_or_not_found
from opsdesk.desk.schemas import MAX_ID
from opsdesk.web.api.params import PathId
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep
from opsdesk.web.roster_flow import assign_and_publish
from opsdesk.workforce import queries
from opsdesk.workforce.roster.actions import set_contract
from opsdesk.workforce.schemas import ContractIn, RosterOut

router = APIRouter(tags=["workforce"], route_class=BoundedBodyRoute)
PlanId = Annotated[int, Path(ge=1, le=MAX_ID, description="The plan run's id")]


@router.put("/workforce/agents/{user_id}/contract")
def put_contract(
    user_id: PathId, body: ContractIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> dict[str, float]:
    """An agent's contracted hours per week: the most the named-agent assignment gives them."""
    permissions.require(user, permissions.WORKFORCE_WRITE)
    agent = get_or_not_found(session, User, user_id, "user", field="user_id")
    set_contract(session, agent=agent, hours_per_week=body.hours_per_week, clock=clock, actor=user)
    session.commit()
    return {"hours_per_week": body.hours_per_week}


@router.post("/workforce/plans/{plan_id}/assignment", response_model=RosterOut)
def post_assignment(plan_id: PlanId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> RosterOut:
    """Assign the agents of the plan's sites to its week's schedule lines and publish their shifts,
    replacing what was published for them that week (publishing the same assignment again changes
    nothing). Lines no agent may take are returned as open, with the reason."""
    permissions.require(user, permissions.WORKFORCE_WRITE)
    run = queries.plan_by_id(session, plan_id)
    week = assign_and_publish(session, run=run, actor=user, clock=clock)
    out = RosterOut.of(week)
    session.commit()
    return out
