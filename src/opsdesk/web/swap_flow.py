"""Shift swaps as the API and the pages both make them: workforce's swap actions joined with routing's
published shift (workforce and desk do not import each other, so the web layer joins the two steps)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict
from opsdesk.core.models import User
from opsdesk.core.queries import get_or_not_found
from opsdesk.desk.routing.admin import move_shift
from opsdesk.desk.routing.models import AgentShift
from opsdesk.workforce.swaps import actions
from opsdesk.workforce.swaps.models import ShiftSwap


def offer(session: Session, *, agent: User, shift_id: int, to_user_id: int, clock: Clock) -> ShiftSwap:
    """Offer one of the agent's published shifts to a colleague."""
    shift = get_or_not_found(session, AgentShift, shift_id, "shift", field="shift_id")
    to = get_or_not_found(session, User, to_user_id, "user", field="to_user_id")
    return actions.offer_shift(
        session,
        agent=agent,
        shift_id=shift.id,
        shift_owner_id=shift.user_id,
        shift_starts_at=shift.starts_at,
        shift_is_absence=shift.absence,
        to=to,
        clock=clock,
    )


def decide_and_move(
    session: Session, *, swap: ShiftSwap, approve: bool, lead: User, clock: Clock
) -> ShiftSwap:
    """A lead's decision; when approved, the shift becomes the colleague's and routing follows it."""
    actions.decide_swap(session, swap=swap, lead=lead, approve=approve, clock=clock)
    if approve:
        shift = get_or_not_found(session, AgentShift, swap.shift_id, "shift", field="shift_id")
        if shift.user_id != swap.from_user_id:
            raise Conflict("the shift is no longer the offering agent's")
        move_shift(session, shift=shift, to=swap.to_user, clock=clock, actor=lead)
    return swap
