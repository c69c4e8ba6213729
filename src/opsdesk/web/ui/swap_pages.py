"""Shift swaps in pages: on the agent's own schedule, offer a shift to a colleague, answer offers made to
you and withdraw your own until a lead approves; on the leads' page, approve or reject swaps both agents
agreed to. The rules are the domain's (``opsdesk.workforce.swaps.actions``, joined with routing in
``opsdesk.web.swap_flow``); a refused form answers with its page again, the message beside the form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.bounds import MAX_ID
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, OpsDeskError, PermissionDenied, ValidationFailed
from opsdesk.core.models import User
from opsdesk.web import swap_flow
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.errors import STATUS_BY_ERROR
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.render import page
from opsdesk.web.ui.schedule_view import FormError, schedule_page, swap_rows
from opsdesk.workforce.swaps import actions

router = APIRouter(include_in_schema=False)
FormId = Annotated[int, Form(ge=1, le=MAX_ID)]
REFUSALS = (ValidationFailed, Conflict, PermissionDenied, NotFound)


def _on_schedule(
    request: Request,
    user: User,
    session: Session,
    clock: Clock,
    step: Callable[[], object],
    *,
    shift_id: int | None = None,
    swap_id: int | None = None,
) -> Response:
    """Run one swap step and commit; a refusal rolls back and shows the schedule with its message."""
    try:
        step()
    except REFUSALS as exc:
        session.rollback()
        return schedule_page(request, user, session, clock, error=exc, shift_id=shift_id, swap_id=swap_id)
    session.commit()
    return RedirectResponse("/me/schedule", status_code=303)


@router.post("/me/shift-swaps")
def post_offer(
    request: Request,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    shift_id: FormId,
    to_user_id: FormId,
) -> Response:
    return _on_schedule(
        request, user, session, clock,
        lambda: swap_flow.offer(session, agent=user, shift_id=shift_id, to_user_id=to_user_id, clock=clock),
        shift_id=shift_id,
    )  # fmt: skip


@router.post("/me/shift-swaps/{swap_id}")
def post_answer(
    request: Request,
    swap_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    answer: Annotated[Literal["accept", "decline"], Form()],
) -> Response:
    return _on_schedule(
        request, user, session, clock,
        lambda: actions.answer_offer(
            session, swap=actions.swap_by_id(session, swap_id), agent=user, accept=answer == "accept",
            clock=clock,
        ),
        swap_id=swap_id,
    )  # fmt: skip


@router.post("/me/shift-swaps/{swap_id}/withdraw")
def post_withdraw(
    request: Request, swap_id: PathId, user: StaffFormUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Take back one of your offers, until a lead approves it."""
    return _on_schedule(
        request, user, session, clock,
        lambda: actions.withdraw_offer(
            session, swap=actions.swap_by_id(session, swap_id), agent=user, clock=clock
        ),
        swap_id=swap_id,
    )  # fmt: skip


def _waiting_page(
    request: Request,
    user: User,
    session: Session,
    error: OpsDeskError | None = None,
    swap_id: int | None = None,
) -> Response:
    return page(
        request,
        "schedule/swaps.html",
        user,
        status_code=STATUS_BY_ERROR.get(type(error), (400, ""))[0] if error is not None else 200,
        waiting=swap_rows(session, actions.swaps_waiting_for_lead(session)),
        swap_error=None if error is None else FormError(error.message, error.field, swap_id=swap_id),
    )


@router.get("/workforce/shift-swaps")
def waiting_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    return _waiting_page(request, user, session)


@router.post("/workforce/shift-swaps/{swap_id}")
def post_decision(
    request: Request,
    swap_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    decision: Annotated[Literal["approve", "reject"], Form()],
) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)  # anyone else gets the error page, not the list
    swap = actions.swap_by_id(session, swap_id)  # a swap that does not exist: the error page
    try:
        swap_flow.decide_and_move(session, swap=swap, approve=decision == "approve", lead=user, clock=clock)
    except REFUSALS as exc:
        session.rollback()
        return _waiting_page(request, user, session, exc, swap_id)
    session.commit()
    return RedirectResponse("/workforce/shift-swaps", status_code=303)
