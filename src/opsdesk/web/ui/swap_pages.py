"""Shift swaps in pages: on the agent's own schedule, offer a shift to a colleague and answer offers made
to you; on the leads' page, approve or reject swaps both agents agreed to. The rules are the domain's
(``opsdesk.workforce.swaps.actions``, joined with routing in ``opsdesk.web.swap_flow``); a refusal is the
error page with its message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.bounds import MAX_ID
from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.desk.routing.models import AgentShift
from opsdesk.web import swap_flow
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.render import page
from opsdesk.workforce.swaps import actions
from opsdesk.workforce.swaps.models import ShiftSwap, SwapStatus

router = APIRouter(include_in_schema=False)
FormId = Annotated[int, Form(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class SwapRow:
    swap: ShiftSwap
    shift: AgentShift | None  # gone if the schedule was re-published since


def _rows(session: Session, swaps: list[ShiftSwap]) -> list[SwapRow]:
    return [SwapRow(s, session.get(AgentShift, s.shift_id)) for s in swaps]


def schedule_swaps(session: Session, user: User, clock: Clock, shifts: list[AgentShift]) -> dict[str, Any]:
    """What the agent's schedule page shows of swaps: whom to offer to, which of the shown shifts can be
    offered (future, not already on offer), offers to answer and the agent's own offers."""
    mine = actions.swaps_offered_by(session, user)
    on_offer = {s.shift_id for s in mine if s.status in (SwapStatus.OFFERED, SwapStatus.ACCEPTED)}
    now = clock.now()
    return {
        "colleagues": actions.colleagues_to_offer(session, user),
        "offerable": {s.id for s in shifts if s.starts_at > now and s.id not in on_offer},
        "offers_to_me": _rows(session, actions.swaps_offered_to(session, user)),
        "my_offers": _rows(session, mine),
    }


@router.post("/me/shift-swaps")
def post_offer(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    shift_id: FormId,
    to_user_id: FormId,
) -> Response:
    swap_flow.offer(session, agent=user, shift_id=shift_id, to_user_id=to_user_id, clock=clock)
    session.commit()
    return RedirectResponse("/me/schedule", status_code=303)


@router.post("/me/shift-swaps/{swap_id}")
def post_answer(
    swap_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    answer: Annotated[Literal["accept", "decline"], Form()],
) -> Response:
    swap = actions.swap_by_id(session, swap_id)
    actions.answer_offer(session, swap=swap, agent=user, accept=answer == "accept", clock=clock)
    session.commit()
    return RedirectResponse("/me/schedule", status_code=303)


@router.get("/workforce/shift-swaps")
def waiting_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    return page(
        request, "schedule/swaps.html", user, waiting=_rows(session, actions.swaps_waiting_for_lead(session))
    )


@router.post("/workforce/shift-swaps/{swap_id}")
def post_decision(
    swap_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    decision: Annotated[Literal["approve", "reject"], Form()],
) -> Response:
    swap = actions.swap_by_id(session, swap_id)
    swap_flow.decide_and_move(session, swap=swap, approve=decision == "approve", lead=user, clock=clock)
    session.commit()
    return RedirectResponse("/workforce/shift-swaps", status_code=303)
