"""Voice-of-the-customer pages: escalations ranked by the ARR and covered lives at stake (open one with
a severity, resolve it) and product feedback ranked the same way. Thin: the ranking is the success
queries', the writes are the voice actions'."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.success import access
from opsdesk.success import queries as success_queries
from opsdesk.success.voice import actions as voice_actions
from opsdesk.success.voice import queries as voice_queries
from opsdesk.success.voice.models import EscalationStatus, Severity
from opsdesk.web.api.params import FormBlankOrId, FormLine, FormText, OptionalFilter, PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page
from opsdesk.web.ui.success_work_pages import back_to, workable_accounts

router = APIRouter(include_in_schema=False)
MAX_TITLE = 200


@router.get("/escalations")
def escalations_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    csm: OptionalFilter = None,
    status: Literal["unresolved", "all"] = "unresolved",
    severity: Severity | None = None,
) -> Response:
    """A CSM lands on their own book's escalations (``csm=`` shows everyone's), ranked by ARR and lives."""
    permissions.require(user, permissions.SUCCESS_READ)
    if csm is None:
        csm = user.email if user.role is Role.CSM and user.email else ""
    owner = success_queries.csm_by_email(session, csm) if csm else None
    if csm and owner is None:
        raise ValidationFailed(f"no CSM {csm!r}", field="csm")
    rows = voice_queries.ranked_escalations(
        session,
        today=clock.now().date(),
        unresolved_only=status == "unresolved",
        severity=severity,
        owner_id=owner.id if owner else None,
    )
    writer = permissions.has(user, permissions.SUCCESS_WRITE)
    return page(
        request,
        "success/escalations.html",
        user,
        rows=rows,
        csm=csm,
        csms=session.scalars(select(User).where(User.role == Role.CSM).order_by(User.email)).all(),
        status=status,
        severity=severity.value if severity else "",
        severities=[s.value for s in Severity],
        accounts=workable_accounts(session, user) if writer else [],
        may_work=lambda account: access.may_work(user, account),
    )


@router.post("/escalations")
def open_escalation(
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    account_id: FormBlankOrId,
    severity: Annotated[Severity, Form()] = Severity.SEV3,
    title: FormLine = "",
    note: FormText = "",
    next: FormLine = "",
) -> Response:
    permissions.require(user, permissions.SUCCESS_WRITE)
    if not account_id:
        raise ValidationFailed("choose the customer the escalation is about", field="account_id")
    try:
        account = success_queries.account(session, int(account_id))
    except NotFound:
        raise ValidationFailed(f"no account {account_id}", field="account_id") from None
    access.require_work(user, account)
    if len(title.strip()) > MAX_TITLE:
        raise ValidationFailed(f"the title is at most {MAX_TITLE} characters", field="title")
    voice_actions.open_escalation(
        session, account=account, severity=severity, title=title, note=note, actor=user, clock=clock
    )
    session.commit()
    return RedirectResponse(back_to(next, "/escalations"), status_code=303)


@router.post("/escalations/{escalation_id}/resolve")
def resolve_escalation(
    escalation_id: PathId, user: FormUser, session: SessionDep, clock: ClockDep, note: FormText = ""
) -> Response:
    permissions.require(user, permissions.SUCCESS_WRITE)
    escalation = voice_queries.escalation(session, escalation_id)
    access.require_work(user, escalation.account)
    voice_actions.update_escalation(
        session,
        escalation=escalation,
        status=EscalationStatus.RESOLVED,
        note=note.strip(),
        actor=user,
        clock=clock,
    )
    session.commit()
    return RedirectResponse("/escalations", status_code=303)


@router.get("/feedback")
def feedback_page(
    request: Request, user: PageUser, session: SessionDep, clock: ClockDep, include_closed: bool = False
) -> Response:
    """Product requests and areas ranked by the ARR and covered lives of the accounts asking."""
    permissions.require(user, permissions.SUCCESS_READ)
    areas, requests = voice_queries.ranking(session, on=clock.now().date(), include_closed=include_closed)
    return page(
        request,
        "success/feedback.html",
        user,
        areas=areas.to_dict("records"),
        requests=requests.to_dict("records"),
        include_closed=include_closed,
    )
