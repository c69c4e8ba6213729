"""/api/v1/automation/rules (triggers and time rules, their dry run) and /api/v1/macros."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from opsdesk.core import permissions
from opsdesk.core.errors import ValidationFailed
from opsdesk.desk import access
from opsdesk.desk.access import TicketOp
from opsdesk.desk.automation import macros, rules
from opsdesk.desk.automation.dry_run import dry_run
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.automation.schemas import (
    DryRunIn,
    DryRunOut,
    MacroAppliedOut,
    MacroIn,
    MacroOut,
    MacroUpdate,
    RuleIn,
    RuleOut,
    RuleUpdate,
)
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["automation"])


def _set_fields(body: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None:
            raise ValidationFailed(f"{name} cannot be null", field=name)
        changes[name] = value
    return changes


@router.get("/automation/rules", response_model=list[RuleOut])
def list_rules(
    user: CurrentUser, session: SessionDep, kind: Annotated[RuleKind | None, Query()] = None
) -> list[RuleOut]:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    return [RuleOut.of(r) for r in rules.list_rules(session, kind)]


@router.post("/automation/rules", status_code=201, response_model=RuleOut)
def create_rule(body: RuleIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> RuleOut:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    rule = rules.create_rule(session, actor=user, clock=clock, **body.model_dump())
    session.commit()
    return RuleOut.of(rule)


@router.post("/automation/rules/dry-run", response_model=DryRunOut)
def dry_run_rule(body: DryRunIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> DryRunOut:
    """What the rule would have changed over the last ``days`` days; nothing is stored."""
    permissions.require(user, permissions.SETTINGS_MANAGE)
    report = dry_run(
        session,
        name=body.name,
        kind=body.kind,
        conditions=body.conditions,
        actions=body.actions,
        once_per_ticket=body.once_per_ticket,
        days=body.days,
        clock=clock,
    )
    session.rollback()
    return DryRunOut(**report.as_dict())


@router.get("/automation/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: PathId, user: CurrentUser, session: SessionDep) -> RuleOut:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    return RuleOut.of(rules.rule_by_id(session, rule_id))


@router.patch("/automation/rules/{rule_id}", response_model=RuleOut)
def update_rule(
    rule_id: PathId, body: RuleUpdate, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> RuleOut:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    rule = rules.update_rule(
        session, rule=rules.rule_by_id(session, rule_id), actor=user, clock=clock, **_set_fields(body)
    )
    session.commit()
    return RuleOut.of(rule)


@router.delete("/automation/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    rules.delete_rule(session, rule=rules.rule_by_id(session, rule_id), actor=user, clock=clock)
    session.commit()
    return Response(status_code=204)


@router.get("/macros", response_model=list[MacroOut])
def list_macros(user: CurrentUser, session: SessionDep) -> list[MacroOut]:
    permissions.require(user, permissions.TICKET_UPDATE)
    return [MacroOut.of(m) for m in macros.macros_for(session, user, include_inactive=True)]


@router.post("/macros", status_code=201, response_model=MacroOut)
def create_macro(body: MacroIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> MacroOut:
    macro = macros.create_macro(session, owner=user, clock=clock, **body.model_dump())
    session.commit()
    return MacroOut.of(macro)


@router.patch("/macros/{macro_id}", response_model=MacroOut)
def update_macro(
    macro_id: PathId, body: MacroUpdate, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> MacroOut:
    macro = macros.macro_for(session, macro_id, user)
    macros.update_macro(session, macro=macro, user=user, clock=clock, **_set_fields(body))
    session.commit()
    return MacroOut.of(macro)


@router.delete("/macros/{macro_id}", status_code=204)
def delete_macro(macro_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    macros.delete_macro(session, macro=macros.macro_for(session, macro_id, user), user=user, clock=clock)
    session.commit()
    return Response(status_code=204)


@router.post("/tickets/{number}/macros/{macro_id}", response_model=MacroAppliedOut)
def apply_macro(
    number: PathId, macro_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> MacroAppliedOut:
    ticket = access.ticket_for(session, number, user, clock)
    session.commit()  # the audit row of a sensitive read, kept even when the next check refuses
    access.require(user, TicketOp.UPDATE, ticket)
    macro = macros.macro_for(session, macro_id, user)
    changes = macros.apply_macro(session, ticket=ticket, macro=macro, agent=user, clock=clock)
    session.commit()
    return MacroAppliedOut(ticket=ticket.id, macro_id=macro.id, changes=changes)
