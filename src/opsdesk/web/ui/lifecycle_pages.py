"""Lifecycle pages: an account's phase owners, stage history and the hand-off form (the next stage, its
checklist, a note), and the time-in-stage report with medians per segment. Thin: every rule is in
``success.lifecycle``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.success import queries as success_queries
from opsdesk.success.lifecycle import actions, queries
from opsdesk.success.lifecycle.handoff import as_lines, checks, from_lines, tasks
from opsdesk.success.lifecycle.phases import PHASE_LABELS, STORED_PHASES, Phase, next_stages
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks import queries as task_queries
from opsdesk.success.playbooks.models import TaskStatus
from opsdesk.web.api.params import FormBlankOrId, FormLine, FormText, OptionalFilter, QueryId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.form_values import optional_day
from opsdesk.web.ui.render import PageId, page

router = APIRouter(include_in_schema=False)
REPORT_STAGES = (Stage.IMPLEMENTATION, Stage.LAUNCH, Stage.ADOPTION, Stage.RENEWAL)
Checked = Annotated[list[int], Form(max_length=30)]


def _account_page(
    request: Request,
    user: User,
    session: Session,
    clock: Clock,
    account: Account,
    to: Stage | None,
    error: str = "",
    status_code: int = 200,
    ticked: frozenset[int] = frozenset(),
    note: str = "",
) -> Response:
    today = clock.now().date()
    history, timing = queries.account_lifecycle(session, account, today)
    choices = next_stages(account.stage)
    target = to if to is not None and to is not account.stage else choices[0]
    items, default = queries.checklist(session, account.stage, target)
    return page(
        request,
        "success/lifecycle.html",
        user,
        status_code=status_code,
        account=account,
        owners=queries.phase_owners(session, account),
        labels=PHASE_LABELS,
        stored_phases=STORED_PHASES,
        people=queries.possible_owners(session),
        history=history,
        timing=timing,
        today=today,
        choices=choices,
        target=target,
        next_owner=queries.owner_for_stage(session, account, target),
        checks=checks(items),
        handoff_tasks=tasks(items),
        default_checklist=default,
        open_tasks=task_queries.tasks(session, account_id=account.id, status=TaskStatus.OPEN, limit=50),
        can_write=permissions.has(user, permissions.SUCCESS_WRITE),
        error=error,
        ticked=ticked,
        note=note,
    )


@router.get("/customers/lifecycle")
def report_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    segment: OptionalFilter = None,
    csm: QueryId = None,
) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    report = queries.lifecycle_report(session, clock.now().date(), segment=segment or None, csm_id=csm)
    return page(
        request,
        "success/lifecycle_report.html",
        user,
        report=report,
        stages=REPORT_STAGES,
        segments=[s.name for s in success_queries.segments(session)],
        csms=session.scalars(select(User).where(User.role == Role.CSM).order_by(User.name)).all(),
        filters={"segment": segment or "", "csm": csm},
    )


def _checklist_page(
    request: Request,
    user: User,
    session: Session,
    from_stage: Stage,
    to: Stage,
    *,
    text: str | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    items, default = queries.checklist(session, from_stage, to) if from_stage is not to else ([], True)
    return page(
        request,
        "success/lifecycle_checklists.html",
        user,
        status_code=status_code,
        stages=list(Stage),
        from_stage=from_stage,
        to=to,
        items=items,
        default=default,
        text=as_lines(items) if text is None else text,
        can_edit=actions.may_edit_checklists(user),
        error=error or ("Choose two different stages." if from_stage is to else ""),
    )


@router.get("/customers/lifecycle/checklists")
def checklists_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    from_stage: Stage = Stage.IMPLEMENTATION,
    to: Stage = Stage.LAUNCH,
) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    return _checklist_page(request, user, session, from_stage, to)


@router.post("/customers/lifecycle/checklists")
def post_checklist(
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    from_stage: Annotated[Stage, Form()],
    to: Annotated[Stage, Form()],
    lines: FormText = "",
    reset: FormLine = "",
) -> Response:
    """Save the typed checklist, or (``reset``) go back to the default; a mistake shows the text again."""
    actions.require_checklist_editor(user)
    try:
        items = None if reset else from_lines(lines)
        actions.save_checklist(session, from_stage=from_stage, to=to, items=items, clock=clock, actor=user)
    except ValidationFailed as exc:
        session.rollback()
        return _checklist_page(
            request, user, session, from_stage, to, text=lines, error=exc.message, status_code=422
        )
    session.commit()
    return RedirectResponse(
        f"/customers/lifecycle/checklists?from_stage={from_stage.value}&to={to.value}", status_code=303
    )


@router.get("/customers/{account_id}/lifecycle")
def account_lifecycle_page(
    account_id: PageId,
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    to: Stage | None = None,
) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    account = success_queries.account(session, account_id)
    return _account_page(request, user, session, clock, account, to)


@router.post("/customers/{account_id}/lifecycle/hand-off")
def post_hand_off(
    account_id: PageId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    to: Annotated[Stage, Form()],
    on: FormLine = "",
    note: FormLine = "",
    checked: Checked = [],  # noqa: B006 (FastAPI copies form defaults)
) -> Response:
    """Refused with the form shown again, the ticks kept, while a required check is open."""
    permissions.require(user, permissions.SUCCESS_WRITE)
    account = success_queries.account(session, account_id)
    try:
        actions.hand_off(
            session,
            account=account,
            to=to,
            on=optional_day(on, "on") or clock.now().date(),
            checked=set(checked),
            note=note,
            clock=clock,
            actor=user,
        )
    except ValidationFailed as exc:
        session.rollback()
        account = success_queries.account(session, account_id)
        return _account_page(
            request, user, session, clock, account, to, error=exc.message, status_code=422,
            ticked=frozenset(checked), note=note,
        )  # fmt: skip
    session.commit()
    return RedirectResponse(f"/customers/{account_id}/lifecycle", status_code=303)


@router.post("/customers/{account_id}/lifecycle/owners")
def post_owners(
    account_id: PageId,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    implementation: FormBlankOrId = "",
    renewal: FormBlankOrId = "",
) -> Response:
    """Both stored phases at once, as the form shows them; blank clears an owner."""
    permissions.require(user, permissions.SUCCESS_WRITE)
    account = success_queries.account(session, account_id)
    for phase, value in ((Phase.IMPLEMENTATION, implementation), (Phase.RENEWAL, renewal)):
        owner = session.get(User, int(value)) if value else None
        if value and owner is None:
            raise ValidationFailed(f"no user {value}", field=phase.value)
        actions.set_phase_owner(session, account=account, phase=phase, user=owner, clock=clock, actor=user)
    session.commit()
    return RedirectResponse(f"/customers/{account_id}/lifecycle", status_code=303)
