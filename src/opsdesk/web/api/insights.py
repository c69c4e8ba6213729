"""/api/v1/kpis: the KPI engine's rows, the same as `opsdesk kpi --format json` for the same parameters.
Only numbers and group labels leave here, never ticket content."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from opsdesk.core import permissions
from opsdesk.core.bounds import no_nul
from opsdesk.insights.kpis.catalogue import BY_KEYS, METRICS
from opsdesk.web.api.params import RequiredFrom, RequiredTo
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["insights"], route_class=BoundedBodyRoute)
MetricNames = Annotated[
    list[Annotated[str, AfterValidator(no_nul)]],
    Query(
        min_length=1,
        max_length=len(METRICS),
        description="One or more of: " + ", ".join(METRICS) + " (repeat the parameter or separate by commas)",
    ),
]
ByKeys = Annotated[
    Annotated[str, AfterValidator(no_nul)] | None,
    Query(max_length=200, description="KEY[,KEY...] from: " + ", ".join(BY_KEYS)),
]


@router.get("/kpis", response_model=list[dict[str, Any]])
def kpis(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    metric: MetricNames,
    start: RequiredFrom,
    end: RequiredTo,
    by: ByKeys = None,
    business_hours: bool = False,
    date: Annotated[
        Literal["created", "solved"], Query(description="Tickets by their created or solved date")
    ] = "created",
) -> list[dict[str, Any]]:
    """One row per group and metric: the group keys, `metric`, `n`, and `mean_s`/`median_s`/`p90_s`
    (durations, seconds), or `value` (+ `numerator`, `denominator` for rates)."""
    from opsdesk.insights.kpis.queries import kpi_rows
    from opsdesk.insights.kpis.request import kpi_request

    permissions.require(user, permissions.INSIGHTS_READ)
    request = kpi_request(
        metrics=[m[:200] for m in metric],
        start=start,
        end=end,
        by=by,
        business_hours=business_hours,
        date_basis=date,
    )
    return kpi_rows(session, request, now=clock.now())
