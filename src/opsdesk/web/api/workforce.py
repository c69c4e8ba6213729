"""/api/v1/workforce: stored plan runs (forecast, staffing, site schedule, hiring) and building a new one;
planning scenarios (the chain from customer growth to hires) and their comparison; today's intraday view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.desk.schemas import MAX_ID
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep
from opsdesk.web.ui.zones import viewer_zone, zone_named
from opsdesk.workforce import actions, queries
from opsdesk.workforce import scenarios as scenario_actions
from opsdesk.workforce.intraday.day import intraday_day
from opsdesk.workforce.intraday.schemas import IntradayOut
from opsdesk.workforce.schemas import (
    PlanBuildIn,
    PlanRunOut,
    ScenarioBrief,
    ScenarioChangeIn,
    ScenarioCopyIn,
    ScenarioIn,
    ScenarioOut,
)

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


ScenarioId = Annotated[int, Path(ge=1, le=MAX_ID, description="The scenario's id")]
MAX_COMPARED = 6


@router.get("/workforce/scenarios", response_model=list[ScenarioBrief])
def scenarios(user: CurrentUser, session: SessionDep) -> list[ScenarioBrief]:
    permissions.require(user, permissions.WORKFORCE_READ)
    return [ScenarioBrief.of(s) for s in queries.list_scenarios(session)]


@router.post("/workforce/scenarios", status_code=201, response_model=ScenarioOut)
def create_scenario(body: ScenarioIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> ScenarioOut:
    """Computes the whole chain in the request (a few seconds: the schedule's solve is capped by the
    assumptions' schedule_time_limit_seconds)."""
    from opsdesk.workforce.chain.assumptions import default_assumptions

    permissions.require(user, permissions.WORKFORCE_WRITE)
    assumptions = body.assumptions if body.assumptions is not None else default_assumptions(clock.now())
    scenario = scenario_actions.create_scenario(
        session, name=body.name, assumptions=assumptions, clock=clock, actor=user
    )
    session.commit()
    return ScenarioOut.of(scenario)


@router.get("/workforce/scenarios/compare")
def compare_scenarios(
    user: CurrentUser,
    session: SessionDep,
    ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Query(min_length=1, max_length=MAX_COMPARED, description="Scenario ids; the first is the baseline"),
    ],
) -> dict[str, Any]:
    """Per month: lives, requirement, need, headcount, hires and cost of each scenario, with its
    difference from the first; and each scenario's schedule coverage."""
    from opsdesk.workforce.chain.compare import compare

    permissions.require(user, permissions.WORKFORCE_READ)
    chosen = [queries.scenario_by_id(session, i) for i in ids]
    return compare([(s.id, s.name, s.summary) for s in chosen])


@router.get("/workforce/scenarios/{scenario_id}", response_model=ScenarioOut)
def scenario(scenario_id: ScenarioId, user: CurrentUser, session: SessionDep) -> ScenarioOut:
    permissions.require(user, permissions.WORKFORCE_READ)
    return ScenarioOut.of(queries.scenario_by_id(session, scenario_id))


@router.post("/workforce/scenarios/{scenario_id}/copy", status_code=201, response_model=ScenarioOut)
def copy_scenario(
    scenario_id: ScenarioId, body: ScenarioCopyIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ScenarioOut:
    permissions.require(user, permissions.WORKFORCE_WRITE)
    source = queries.scenario_by_id(session, scenario_id)
    copied = scenario_actions.copy_scenario(
        session, source=source, name=body.name, changes=body.changes, clock=clock, actor=user
    )
    session.commit()
    return ScenarioOut.of(copied)


@router.patch("/workforce/scenarios/{scenario_id}", response_model=ScenarioOut)
def change_scenario(
    scenario_id: ScenarioId, body: ScenarioChangeIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ScenarioOut:
    permissions.require(user, permissions.WORKFORCE_WRITE)
    scenario = queries.scenario_by_id(session, scenario_id)
    scenario_actions.change_assumptions(
        session, scenario=scenario, changes=body.changes, clock=clock, actor=user
    )
    session.commit()
    return ScenarioOut.of(scenario)


ZoneName = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$",
        description="IANA zone whose day is shown (e.g. Europe/Dublin); default: the reader's own zone.",
    ),
]


@router.get("/workforce/intraday", response_model=IntradayOut)
def intraday(user: CurrentUser, session: SessionDep, clock: ClockDep, zone: ZoneName = None) -> IntradayOut:
    """Today in the zone: forecast, arrivals and re-forecast per channel and 15-minute interval; agents
    required, scheduled and online; adherence per agent. Computed in the request (the day's baseline
    forecast is the intraday job's, or made here in a few seconds before the job has run)."""
    permissions.require(user, permissions.WORKFORCE_INTRADAY)
    if zone is None:
        chosen = viewer_zone(user, None).zone
    elif (named := zone_named(zone)) is None:
        raise ValidationFailed(f"unknown time zone {zone!r}", field="zone")
    else:
        chosen = named
    return IntradayOut.of(intraday_day(session, now=clock.now(), zone=chosen))
