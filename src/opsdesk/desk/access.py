"""Who may see and do what to which ticket: the one place the record rules live.

It starts from the role table (opsdesk.core.permissions) and adds the record rules:
- a sensitive ticket is visible only to staff in a group with ``sensitive_access`` and to its requester;
- a requester sees their own tickets, and their organisation's when it shares tickets (never another
  requester's sensitive ticket);
- requesters never see internal notes.
A ticket the reader may not see is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

import enum

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.orm import Session

from opsdesk.core import audit, permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, PermissionDenied
from opsdesk.core.models import Role, Tier, User
from opsdesk.desk.models import Message, Ticket


class TicketOp(enum.StrEnum):
    READ = "read"
    LIST = "list"
    CREATE = "create"
    REPLY = "reply"
    NOTE = "note"
    UPDATE_STATUS = "update_status"
    UPDATE = "update"
    ASSIGN = "assign"
    ESCALATE = "escalate"
    RETURN_TO_L1 = "return_to_l1"
    MERGE = "merge"
    SEE_INTERNAL = "see_internal"
    SET_SENSITIVE = "set_sensitive"


_ROLE_PERMISSION = {
    TicketOp.READ: permissions.TICKET_READ,
    TicketOp.LIST: permissions.TICKET_READ,
    TicketOp.CREATE: permissions.TICKET_CREATE,
    TicketOp.REPLY: permissions.TICKET_REPLY,
    TicketOp.NOTE: permissions.TICKET_NOTE,
    TicketOp.UPDATE_STATUS: permissions.TICKET_UPDATE,
    TicketOp.UPDATE: permissions.TICKET_UPDATE,
    TicketOp.ASSIGN: permissions.TICKET_ASSIGN,
    TicketOp.ESCALATE: permissions.TICKET_ESCALATE,
    TicketOp.RETURN_TO_L1: permissions.TICKET_ESCALATE,
    TicketOp.MERGE: permissions.TICKET_MERGE,
    TicketOp.SEE_INTERNAL: permissions.TICKET_READ,
    TicketOp.SET_SENSITIVE: permissions.TICKET_UPDATE,
}


def has_sensitive_access(user: User) -> bool:
    return user.is_staff and user.active and any(group.sensitive_access for group in user.groups)


def can_see(user: User, ticket: Ticket) -> bool:
    if not user.active or not permissions.has(user, permissions.TICKET_READ):
        return False
    if user.role is Role.REQUESTER:
        if ticket.requester_id == user.id:
            return True
        return (
            not ticket.sensitive
            and user.organisation_id is not None
            and ticket.organisation_id == user.organisation_id
            and user.organisation is not None
            and user.organisation.shared_tickets
        )
    return not ticket.sensitive or has_sensitive_access(user)


def can(user: User, op: TicketOp, ticket: Ticket | None = None) -> bool:
    """Whether ``user`` may do ``op`` (to ``ticket`` when the operation is on one)."""
    if not user.active or not permissions.has(user, _ROLE_PERMISSION[op]):
        return False
    if ticket is None:
        return op in (TicketOp.CREATE, TicketOp.LIST)
    if not can_see(user, ticket):
        return False
    if user.role is Role.REQUESTER:
        # A colleague may read an organisation's shared ticket; only its requester may add to it.
        return op is TicketOp.READ or (op is TicketOp.REPLY and ticket.requester_id == user.id)
    if op is TicketOp.SET_SENSITIVE:
        return has_sensitive_access(user)
    if op is TicketOp.RETURN_TO_L1:
        # L2 decides that a ticket is not theirs; an L1 agent cannot hand an escalation back alone.
        return not (user.role is Role.AGENT and user.tier is Tier.L1)
    return True


def require(user: User, op: TicketOp, ticket: Ticket | None = None) -> None:
    """PermissionDenied for what the user may see but not do; NotFound for what they may not see."""
    if ticket is not None and not can_see(user, ticket):
        raise NotFound(f"no ticket #{ticket.id}", field="number")
    if not can(user, op, ticket):
        raise PermissionDenied(f"{_describe(user)} may not {op.value.replace('_', ' ')} this ticket")


def require_create(user: User, *, sensitive: bool) -> None:
    """Staff may only create a sensitive ticket they could then read; a requester's own ticket is
    always readable by them."""
    require(user, TicketOp.CREATE)
    if sensitive and user.is_staff and not has_sensitive_access(user):
        raise PermissionDenied(
            "only staff in a sensitive-access group can create sensitive tickets", field="sensitive"
        )


def _describe(user: User) -> str:
    return f"an {user.tier.value} agent" if user.role is Role.AGENT and user.tier else f"a {user.role.value}"


def ticket_for(session: Session, number: int, user: User, clock: Clock) -> Ticket:
    """The ticket if ``user`` may read it, else NotFound; reads of sensitive tickets are audited,
    refused ones too, for the access review."""
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise NotFound(f"no ticket #{number}", field="number")
    allowed = can_see(user, ticket)
    if ticket.sensitive:
        audit.record(
            session,
            actor=user,
            action="ticket_read" if allowed else "ticket_read_denied",
            subject_type="ticket",
            subject_id=ticket.id,
            at=clock.now(),
        )
    if not allowed:
        raise NotFound(f"no ticket #{number}", field="number")
    return ticket


def visible_to(user: User) -> ColumnElement[bool]:
    """The SQL condition for the tickets ``user`` may see in lists and search results."""
    if not user.active or not permissions.has(user, permissions.TICKET_READ):
        return false()
    if user.role is Role.REQUESTER:
        own = Ticket.requester_id == user.id
        org = user.organisation
        if org is not None and org.shared_tickets:
            return or_(own, and_(Ticket.organisation_id == org.id, Ticket.sensitive.is_(False)))
        return own
    if has_sensitive_access(user):
        return true()
    return Ticket.sensitive.is_(False)


def messages_visible_to(user: User) -> ColumnElement[bool]:
    """Which of a visible ticket's messages ``user`` may read: internal notes are for staff only."""
    return true() if can_see_internal(user) else Message.public.is_(True)


def can_see_internal(user: User) -> bool:
    return user.is_staff and user.active and permissions.has(user, permissions.TICKET_READ)
