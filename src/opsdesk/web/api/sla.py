"""/api/v1/tickets/{number}/sla, /api/v1/sla/policies and /api/v1/business-schedules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from opsdesk.core import permissions
from opsdesk.core.errors import PermissionDenied, ValidationFailed
from opsdesk.core.models import User
from opsdesk.desk import access
from opsdesk.desk.sla import actions, queries
from opsdesk.desk.sla.schemas import (
    BusinessHoursChange,
    BusinessScheduleCreate,
    BusinessScheduleOut,
    SlaPolicyCreate,
    SlaPolicyOut,
    SlaPolicyUpdate,
    TicketSlaOut,
)
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["sla"])


def _require_staff(user: User) -> None:
    """SLA policies, calendars and clocks are the desk's internal workings: any staff member may read
    them, requesters never (as in Zendesk, where end users do not see SLA targets)."""
    if not user.active or not user.is_staff:
        raise PermissionDenied("only staff may read SLA policies, clocks and business schedules")


@router.get("/tickets/{number}/sla", response_model=TicketSlaOut)
def ticket_sla(
    number: PathId,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TicketSlaOut:
    ticket = access.ticket_for(session, number, user, clock)
    session.commit()  # the audit row of a sensitive read, kept even when the next check refuses
    _require_staff(user)
    state = queries.sla_state(session, ticket=ticket, clock=clock, settings=settings)
    return TicketSlaOut.of(state)


@router.get("/sla/policies", response_model=list[SlaPolicyOut])
def list_policies(user: CurrentUser, session: SessionDep) -> list[SlaPolicyOut]:
    _require_staff(user)
    return [SlaPolicyOut.of(p) for p in queries.policies(session)]


@router.post("/sla/policies", status_code=201, response_model=SlaPolicyOut)
def create_policy(
    body: SlaPolicyCreate, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> SlaPolicyOut:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    schedule = queries.schedule_by_id(session, body.schedule_id) if body.schedule_id is not None else None
    policy = actions.create_sla_policy(
        session,
        name=body.name,
        position=body.position,
        active=body.active,
        priorities=[p.value for p in body.priorities],
        channels=[c.value for c in body.channels],
        customer_tags=body.customer_tags,
        targets={p.value: t.model_dump(exclude_none=True) for p, t in body.targets.items()},
        schedule=schedule,
        pausing_statuses=body.pausing_statuses,
        actor=user,
        clock=clock,
    )
    session.commit()
    return SlaPolicyOut.of(policy)


@router.get("/sla/policies/{policy_id}", response_model=SlaPolicyOut)
def get_policy(policy_id: PathId, user: CurrentUser, session: SessionDep) -> SlaPolicyOut:
    _require_staff(user)
    return SlaPolicyOut.of(queries.policy_by_id(session, policy_id))


@router.patch("/sla/policies/{policy_id}", response_model=SlaPolicyOut)
def update_policy(
    policy_id: PathId,
    body: SlaPolicyUpdate,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> SlaPolicyOut:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    policy = queries.policy_by_id(session, policy_id)
    sent = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "position", "active", "customer_tags", "pausing_statuses"):
        if name in sent:
            value = getattr(body, name)
            if value is None:
                raise ValidationFailed(f"{name} cannot be null", field=name)
            changes[name] = value
    for name in ("priorities", "channels"):
        if name in sent:
            values = getattr(body, name)
            if values is None:
                raise ValidationFailed(f"{name} cannot be null; send [] for any", field=name)
            changes[name] = [v.value for v in values]
    if "targets" in sent:
        if body.targets is None:
            raise ValidationFailed("targets cannot be null", field="targets")
        changes["targets"] = {p.value: t.model_dump(exclude_none=True) for p, t in body.targets.items()}
    if "schedule_id" in sent:
        changes["schedule"] = (
            queries.schedule_by_id(session, body.schedule_id) if body.schedule_id is not None else None
        )
    policy = actions.update_sla_policy(session, policy=policy, actor=user, clock=clock, **changes)
    session.commit()
    return SlaPolicyOut.of(policy)


@router.delete("/sla/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    actions.delete_sla_policy(
        session, policy=queries.policy_by_id(session, policy_id), actor=user, clock=clock
    )
    session.commit()
    return Response(status_code=204)


@router.get("/business-schedules", response_model=list[BusinessScheduleOut])
def list_schedules(user: CurrentUser, session: SessionDep, clock: ClockDep) -> list[BusinessScheduleOut]:
    _require_staff(user)
    return [BusinessScheduleOut.of(s, clock.now()) for s in queries.schedules(session)]


@router.post("/business-schedules", status_code=201, response_model=BusinessScheduleOut)
def create_schedule(
    body: BusinessScheduleCreate, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> BusinessScheduleOut:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    schedule = actions.create_business_schedule(
        session,
        name=body.name,
        timezone=body.timezone,
        intervals=[i.model_dump() for i in body.intervals],
        holidays=body.holidays,
        always_open=body.always_open,
        actor=user,
        clock=clock,
    )
    session.commit()
    return BusinessScheduleOut.of(schedule, clock.now())


@router.get("/business-schedules/{schedule_id}", response_model=BusinessScheduleOut)
def get_schedule(
    schedule_id: PathId,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> BusinessScheduleOut:
    _require_staff(user)
    return BusinessScheduleOut.of(queries.schedule_by_id(session, schedule_id), clock.now())


@router.post("/business-schedules/{schedule_id}/hours", status_code=201, response_model=BusinessScheduleOut)
def change_hours(
    schedule_id: PathId,
    body: BusinessHoursChange,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> BusinessScheduleOut:
    """New hours from ``effective_from``; durations that ended earlier keep the hours they ended under."""
    permissions.require(user, permissions.SETTINGS_MANAGE)
    schedule = actions.change_business_hours(
        session,
        schedule=queries.schedule_by_id(session, schedule_id),
        timezone=body.timezone,
        intervals=[i.model_dump() for i in body.intervals],
        holidays=body.holidays,
        always_open=body.always_open,
        effective_from=body.effective_from,
        actor=user,
        clock=clock,
    )
    session.commit()
    return BusinessScheduleOut.of(schedule, clock.now())


@router.delete("/business-schedules/{schedule_id}", status_code=204)
def delete_schedule(
    schedule_id: PathId,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    schedule = queries.schedule_by_id(session, schedule_id)
    actions.delete_business_schedule(session, schedule=schedule, actor=user, clock=clock)
    session.commit()
    return Response(status_code=204)
