"""/api/v1/workforce/shift-swaps: an agent offers a published shift to a colleague, the colleague accepts
or declines, and a support lead or admin approves (the shift changes hands in routing) or rejects; the
offering agent may withdraw the offer until it is approved."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from opsdesk.core import permissions
from opsdesk.core.bounds import Id, NoNulModel
from opsdesk.core.models import User
from opsdesk.web import swap_flow
from opsdesk.web.api.params import PathId
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep
from opsdesk.workforce.swaps import actions
from opsdesk.workforce.swaps.models import ShiftSwap, SwapStatus

router = APIRouter(tags=["workforce"], route_class=BoundedBodyRoute)


class SwapIn(NoNulModel):
    shift_id: Id
    to_user_id: Id


class SwapOut(BaseModel):
    id: int
    shift_id: int
    from_user_id: int
    to_user_id: int
    status: SwapStatus

    @classmethod
    def of(cls, swap: ShiftSwap) -> SwapOut:
        return cls(
            id=swap.id,
            shift_id=swap.shift_id,
            from_user_id=swap.from_user_id,
            to_user_id=swap.to_user_id,
            status=swap.status,
        )


@router.post("/workforce/shift-swaps", status_code=201, response_model=SwapOut)
def offer(body: SwapIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SwapOut:
    """Offer one of your future published shifts to a colleague."""
    swap = swap_flow.offer(
        session, agent=user, shift_id=body.shift_id, to_user_id=body.to_user_id, clock=clock
    )
    session.commit()
    return SwapOut.of(swap)


@router.get("/workforce/shift-swaps", response_model=list[SwapOut])
def waiting(user: CurrentUser, session: SessionDep) -> list[SwapOut]:
    """Swaps both agents agreed to, waiting for a lead."""
    permissions.require(user, permissions.ROUTING_MANAGE)
    return [SwapOut.of(s) for s in actions.swaps_waiting_for_lead(session)]


def _answer(swap_id: int, accept: bool, user: User, session: SessionDep, clock: ClockDep) -> SwapOut:
    swap = actions.answer_offer(
        session, swap=actions.swap_by_id(session, swap_id), agent=user, accept=accept, clock=clock
    )
    session.commit()
    return SwapOut.of(swap)


@router.post("/workforce/shift-swaps/{swap_id}/accept", response_model=SwapOut)
def accept(swap_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SwapOut:
    return _answer(swap_id, True, user, session, clock)


@router.post("/workforce/shift-swaps/{swap_id}/decline", response_model=SwapOut)
def decline(swap_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SwapOut:
    return _answer(swap_id, False, user, session, clock)


@router.post("/workforce/shift-swaps/{swap_id}/withdraw", response_model=SwapOut)
def withdraw(swap_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SwapOut:
    """The offering agent takes the offer back until a lead approves it (409 once approved)."""
    swap = actions.withdraw_offer(session, swap=actions.swap_by_id(session, swap_id), agent=user, clock=clock)
    session.commit()
    return SwapOut.of(swap)


def _decide(swap_id: int, approve: bool, user: User, session: SessionDep, clock: ClockDep) -> SwapOut:
    swap = swap_flow.decide_and_move(
        session, swap=actions.swap_by_id(session, swap_id), approve=approve, lead=user, clock=clock
    )
    session.commit()
    return SwapOut.of(swap)


@router.post("/workforce/shift-swaps/{swap_id}/approve", response_model=SwapOut)
def approve(swap_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SwapOut:
    """Approve: the shift becomes the colleague's, and routing follows it."""
    return _decide(swap_id, True, user, session, clock)


@router.post("/workforce/shift-swaps/{swap_id}/reject", response_model=SwapOut)
def reject(swap_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SwapOut:
    return _decide(swap_id, False, user, session, clock)
