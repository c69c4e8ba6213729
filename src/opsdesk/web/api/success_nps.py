"""/api/v1/nps-schedules (who is asked for NPS, per segment, how often) and an account's NPS summary.
Reading needs success.read; changing a schedule, which mails customers, needs a CS lead or admin."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import select

from opsdesk.core import permissions
from opsdesk.core.errors import PermissionDenied, ValidationFailed
from opsdesk.core.models import Role
from opsdesk.success import queries as success_queries
from opsdesk.success.models import Segment
from opsdesk.success.voice.models import NpsSchedule
from opsdesk.success.voice.nps_surveys import save_schedule
from opsdesk.success.voice.queries import nps_summary
from opsdesk.success.voice.schemas import NpsScheduleIn, NpsScheduleOut, NpsSummaryOut
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["success"])
NPS_WINDOW = timedelta(days=365)


@router.get("/nps-schedules", response_model=list[NpsScheduleOut])
def list_schedules(user: CurrentUser, session: SessionDep) -> list[NpsScheduleOut]:
    permissions.require(user, permissions.SUCCESS_READ)
    rows = session.scalars(select(NpsSchedule).order_by(NpsSchedule.segment_id.is_not(None), NpsSchedule.id))
    return [NpsScheduleOut.model_validate(r) for r in rows]


@router.put("/nps-schedules", response_model=NpsScheduleOut)
def put_schedule(
    body: NpsScheduleIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> NpsScheduleOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    if user.role not in (Role.CS_LEAD, Role.ADMIN):
        raise PermissionDenied("only CS leads and admins schedule surveys", field=None)
    segment = None
    if body.segment_id is not None:
        segment = session.get(Segment, body.segment_id)
        if segment is None:
            raise ValidationFailed(f"no segment {body.segment_id}", field="segment_id")
    row = save_schedule(
        session, segment=segment, roles=[r.value for r in body.roles], every_days=body.every_days,
        active=body.active, clock=clock,
    )  # fmt: skip
    session.commit()
    return NpsScheduleOut.model_validate(row)


@router.get("/accounts/{account_id}/nps", response_model=NpsSummaryOut)
def account_nps(account_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> NpsSummaryOut:
    permissions.require(user, permissions.SUCCESS_READ)
    success_queries.account(session, account_id)
    now = clock.now()
    summary = nps_summary(session, account_id, since=now - NPS_WINDOW, until=now + timedelta(seconds=1))
    return NpsSummaryOut(
        account_id=account_id, nps=summary.nps, responses=summary.responses, promoters=summary.promoters,
        passives=summary.passives, detractors=summary.detractors,
    )  # fmt: skip
