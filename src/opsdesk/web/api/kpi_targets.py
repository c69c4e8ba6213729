"""/api/v1/kpi-targets: the target band of a KPI for the desk, a site or a group, and who is alerted when
it leaves it (by email and/or an outbound webhook event). Reading needs ``insights.read``; setting and
deleting ``settings.manage`` (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from opsdesk.core import permissions
from opsdesk.core.bounds import ShortText
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["insights"])
Bound = float | None


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kpi: ShortText = Field(description="A metric of `opsdesk kpi`; durations as metric:mean|median|p90")
    scope: Literal["desk", "site", "group"] = "desk"
    scope_name: ShortText = Field("", description="The site or group's name, for those scopes")
    sla_target: Literal["", "first_reply", "next_reply", "resolution"] = ""
    low: Bound = Field(
        None, ge=-1e12, le=1e12, allow_inf_nan=False, description="Lowest value on target (seconds or 0-1)"
    )
    high: Bound = Field(None, ge=-1e12, le=1e12, allow_inf_nan=False, description="Highest value on target")
    notify: ShortText = Field("", description="Email alerted once per excursion; empty: none")
    webhook_event: Annotated[str, Field(max_length=60)] = Field(
        "",
        description="Event type (kpi_...) appended once per excursion and delivered to the outbound "
        "webhooks subscribed to it, with the KPI, value, band and days; empty: none",
    )


class TargetOut(BaseModel):
    id: int
    metric: str
    stat: str
    sla_target: str
    scope: str
    scope_name: str
    low: float | None
    high: float | None
    notify: str
    webhook_event: str
    breached_since: datetime | None
    breached_value: float | None


def _out(row: object) -> TargetOut:
    return TargetOut.model_validate(row, from_attributes=True)


@router.get("/kpi-targets", response_model=list[TargetOut])
def list_targets(user: CurrentUser, session: SessionDep) -> list[TargetOut]:
    from opsdesk.insights.reports.models import KpiTarget

    permissions.require(user, permissions.INSIGHTS_READ)
    return [_out(t) for t in session.scalars(select(KpiTarget).order_by(KpiTarget.id))]


@router.put("/kpi-targets", response_model=TargetOut)
def put_target(body: TargetIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> TargetOut:
    """Create or replace the band of one KPI line in one scope."""
    from opsdesk.insights.reports.targets import set_target

    permissions.require(user, permissions.SETTINGS_MANAGE)
    row = set_target(session, now=clock.now(), **body.model_dump())
    session.commit()
    return _out(row)


@router.delete("/kpi-targets/{target_id}", status_code=204)
def remove_target(target_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    from opsdesk.insights.reports.targets import delete_target

    permissions.require(user, permissions.SETTINGS_MANAGE)
    delete_target(session, target_id=target_id, now=clock.now())
    session.commit()
    return Response(status_code=204)
