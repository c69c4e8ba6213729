"""Every write to a shift swap, with its event. Moving the shift itself is routing's (the web layer calls
``opsdesk.desk.routing.admin.move_shift`` in the same transaction as the approval)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.workforce.swaps.models import ShiftSwap, SwapStatus
from opsdesk.workforce.time_off.actions import REQUESTING_ROLES


def _event(session: Session, swap: ShiftSwap, type: str, at: datetime, actor: User) -> None:
    append_event(
        session,
        subject_type="shift_swap",
        subject_id=swap.id,
        type=type,
        at=at,
        actor=actor,
        data={"shift_id": swap.shift_id, "from": swap.from_user_id, "to": swap.to_user_id},
    )


def offer_shift(
    session: Session,
    *,
    agent: User,
    shift_id: int,
    shift_owner_id: int,
    shift_starts_at: datetime,
    shift_is_absence: bool,
    to: User,
    clock: Clock,
) -> ShiftSwap:
    """Offer one of your own future published shifts to a colleague who can take it."""
    if shift_owner_id != agent.id:
        raise PermissionDenied("you can only offer your own shifts")
    if shift_is_absence:
        raise ValidationFailed("time off is not a shift to give away", field="shift_id")
    if shift_starts_at <= clock.now():
        raise ValidationFailed("that shift has already started", field="shift_id")
    if to.id == agent.id or to.role not in REQUESTING_ROLES or not to.active:
        raise ValidationFailed("offer the shift to another active agent", field="to_user_id")
    open_swap = session.scalars(
        select(ShiftSwap.id).where(
            ShiftSwap.shift_id == shift_id, ShiftSwap.status.in_((SwapStatus.OFFERED, SwapStatus.ACCEPTED))
        )
    ).first()
    if open_swap is not None:
        raise Conflict("this shift is already offered")
    swap = ShiftSwap(
        shift_id=shift_id,
        from_user_id=agent.id,
        to_user_id=to.id,
        status=SwapStatus.OFFERED,
        offered_at=clock.now(),
    )
    session.add(swap)
    session.flush()
    _event(session, swap, "shift_swap_offered", clock.now(), agent)
    return swap


def answer_offer(session: Session, *, swap: ShiftSwap, agent: User, accept: bool, clock: Clock) -> ShiftSwap:
    """The colleague takes the offered shift (then a lead decides) or declines it."""
    if swap.to_user_id != agent.id:
        raise PermissionDenied("this shift was offered to someone else")
    if swap.status is not SwapStatus.OFFERED:
        raise Conflict(f"this swap is already {swap.status.value}")
    swap.status = SwapStatus.ACCEPTED if accept else SwapStatus.REJECTED
    session.flush()
    _event(session, swap, "shift_swap_accepted" if accept else "shift_swap_declined", clock.now(), agent)
    return swap


def withdraw_offer(session: Session, *, swap: ShiftSwap, agent: User, clock: Clock) -> ShiftSwap:
    """The offering agent takes the offer back, whether or not the colleague accepted, until a lead
    approves it (then the shift is already the colleague's)."""
    if swap.from_user_id != agent.id:
        raise PermissionDenied("only the agent who offered the shift can withdraw the offer")
    if swap.status not in (SwapStatus.OFFERED, SwapStatus.ACCEPTED):
        raise Conflict(f"this swap is already {swap.status.value}; it can no longer be withdrawn")
    swap.status = SwapStatus.WITHDRAWN
    session.flush()
    _event(session, swap, "shift_swap_withdrawn", clock.now(), agent)
    return swap


def decide_swap(session: Session, *, swap: ShiftSwap, lead: User, approve: bool, clock: Clock) -> ShiftSwap:
    permissions.require(lead, permissions.ROUTING_MANAGE)
    if lead.id in (swap.from_user_id, swap.to_user_id):
        raise PermissionDenied("another lead decides a swap of your own shift")
    if swap.status is not SwapStatus.ACCEPTED:
        raise Conflict(f"this swap is {swap.status.value}, not waiting for a lead")
    swap.status = SwapStatus.APPROVED if approve else SwapStatus.REJECTED
    swap.decided_by_id = lead.id
    swap.decided_at = clock.now()
    session.flush()
    _event(session, swap, "shift_swap_approved" if approve else "shift_swap_rejected", clock.now(), lead)
    return swap


def swap_by_id(session: Session, swap_id: int) -> ShiftSwap:
    swap = session.get(ShiftSwap, swap_id)
    if swap is None:
        raise NotFound("no such shift swap")
    return swap


def swaps_waiting_for_lead(session: Session) -> list[ShiftSwap]:
    return list(
        session.scalars(
            select(ShiftSwap).where(ShiftSwap.status == SwapStatus.ACCEPTED).order_by(ShiftSwap.id)
        )
    )


def swaps_offered_to(session: Session, agent: User) -> list[ShiftSwap]:
    """Offers waiting for this agent's answer."""
    return list(
        session.scalars(
            select(ShiftSwap)
            .where(ShiftSwap.to_user_id == agent.id, ShiftSwap.status == SwapStatus.OFFERED)
            .order_by(ShiftSwap.id)
        )
    )


def swaps_offered_by(session: Session, agent: User, *, limit: int = 50) -> list[ShiftSwap]:
    """This agent's own offers, newest first, whatever became of them."""
    return list(
        session.scalars(
            select(ShiftSwap)
            .where(ShiftSwap.from_user_id == agent.id)
            .order_by(ShiftSwap.id.desc())
            .limit(limit)
        )
    )


def colleagues_to_offer(session: Session, agent: User) -> list[User]:
    """Active staff with shifts who can take one of this agent's shifts (the rule ``offer_shift`` checks)."""
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_(REQUESTING_ROLES), User.active.is_(True), User.id != agent.id)
            .order_by(User.name)
            .limit(500)
        )
    )
