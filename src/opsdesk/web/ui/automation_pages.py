"""The automation admin page (triggers, time rules with their failures, macros with their usage; a rule
switched on or off in one click) and applying a macro from the ticket page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import permissions
from opsdesk.core.schemas import MAX_ID
from opsdesk.desk.access import TicketOp, require, ticket_for
from opsdesk.desk.automation import macros, rules
from opsdesk.web.api.params import FormBlankOrId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser, StaffFormUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
BACK = "/admin/automation"


@router.get("/admin/automation")
def automation_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    return page(
        request,
        "admin/automation.html",
        user,
        rules=rules.list_rules(session),
        macros=macros.macros_for(session, user, include_inactive=True),
    )


@router.post("/admin/automation/rules/{rule_id}/toggle")
def toggle_rule(rule_id: RecordId, user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    rule = rules.rule_by_id(session, rule_id)
    rules.update_rule(session, rule=rule, actor=user, clock=clock, active=not rule.active)
    session.commit()
    return RedirectResponse(BACK, status_code=303)


@router.post("/tickets/{number}/macro")
def apply_macro(
    number: RecordId, user: StaffFormUser, session: SessionDep, clock: ClockDep, macro_id: FormBlankOrId = ""
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.UPDATE, ticket)
    if macro_id:
        macro = macros.macro_for(session, int(macro_id), user)
        macros.apply_macro(session, ticket=ticket, macro=macro, agent=user, clock=clock)
        session.commit()
    return RedirectResponse(f"/tickets/{number}", status_code=303)
