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
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from opsdesk.core import audit, permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.models import AuditEntry, Role, Tier, User
from opsdesk.desk.models import Message, Ticket

BREAK_GLASS = "break_glass"
# Long enough to read a ticket and act on it; short enough that each use is a deliberate request.
BREAK_GLASS_LASTS = timedelta(minutes=15)
BREAK_GLASS_REASON_MIN = 10


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
    refused ones too, for the access review. A refusal's row is written apart (see
    ``audit.record_apart``): the NotFound rolls the request back, and would take the row with it.
    A support lead or admin with a running break-glass grant on the ticket may read it, and only read:
    every other operation checks ``require``, which knows nothing of grants."""
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise NotFound(f"no ticket #{number}", field="number")
    allowed = can_see(user, ticket)
    if ticket.sensitive:
        read: dict[str, Any] = {
            "actor": user,
            "subject_type": "ticket",
            "subject_id": ticket.id,
            "at": clock.now(),
        }
        grant = None if allowed else active_break_glass(session, user, ticket, clock)
        if allowed or grant is not None:
            detail = {"break_glass": grant.id} if grant is not None else None
            audit.record(session, action="ticket_read", detail=detail, **read)
            return ticket
        audit.record_apart(session, [audit.entry(action="ticket_read_denied", **read)])
    if not allowed:
        raise NotFound(f"no ticket #{number}", field="number")
    return ticket


def active_break_glass(session: Session, user: User, ticket: Ticket, clock: Clock) -> AuditEntry | None:
    """The user's running break-glass grant on the ticket, if any. Grants live in the audit log, which
    is append-only: a grant cannot be edited or extended, only asked for again, with a reason."""
    if not permissions.has(user, permissions.TICKET_BREAK_GLASS):
        return None
    now = clock.now()
    return session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.subject_type == "ticket",
            AuditEntry.subject_id == ticket.id,
            AuditEntry.action == BREAK_GLASS,
            AuditEntry.actor_id == user.id,
            AuditEntry.at > now - BREAK_GLASS_LASTS,
            AuditEntry.at <= now,
        )
        .order_by(AuditEntry.at.desc())
        .limit(1)
    ).first()


def break_glass(session: Session, number: int, user: User, reason: str, clock: Clock) -> AuditEntry:
    """Grant ``user`` (a support lead or admin) a read of a sensitive ticket outside their need-to-know
    for BREAK_GLASS_LASTS. The grant is the audit row: who, when, why, until when. The caller commits."""
    if not permissions.has(user, permissions.TICKET_BREAK_GLASS):
        raise PermissionDenied(f"{_describe(user)} may not break the glass")
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise NotFound(f"no ticket #{number}", field="number")
    if can_see(user, ticket):
        raise ValidationFailed(f"you may read ticket #{number} without breaking the glass", field="number")
    reason = " ".join(reason.replace("\x00", " ").split())
    if len(reason) < BREAK_GLASS_REASON_MIN:
        raise ValidationFailed(
            f"say why in at least {BREAK_GLASS_REASON_MIN} characters: the reason shows on the ticket",
            field="reason",
        )
    now = clock.now()
    grant = audit.record(
        session,
        actor=user,
        action=BREAK_GLASS,
        subject_type="ticket",
        subject_id=ticket.id,
        at=now,
        detail={"reason": reason, "expires_at": (now + BREAK_GLASS_LASTS).isoformat()},
    )
    session.flush()
    return grant


def break_glass_grants(session: Session, ticket: Ticket) -> list[tuple[AuditEntry, User]]:
    """Every break-glass grant on the ticket with who asked, newest first, for those who may see it."""
    if not ticket.sensitive:
        return []
    rows = session.execute(
        select(AuditEntry, User)
        .join(User, User.id == AuditEntry.actor_id)
        .where(
            AuditEntry.subject_type == "ticket",
            AuditEntry.subject_id == ticket.id,
            AuditEntry.action == BREAK_GLASS,
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    return [(grant, actor) for grant, actor in rows]


def audit_shown(session: Session, user: User, tickets: Iterable[Ticket], clock: Clock, *, via: str) -> None:
    """A sensitive ticket's subject in a list or search result is a read: one audit row per such
    ticket, all in one INSERT, written apart so that what the reader saw stays recorded."""
    at = clock.now()
    shown = [
        audit.entry(
            actor=user,
            action="ticket_listed",
            subject_type="ticket",
            subject_id=t.id,
            at=at,
            detail={"via": via},
        )
        for t in tickets
        if t.sensitive
    ]
    audit.record_apart(session, shown)


def audit_attachment(
    session: Session, user: User, ticket: Ticket, attachment_id: int, clock: Clock, *, allowed: bool
) -> None:
    """A download of a sensitive ticket's attachment, or its refusal (an internal note's file asked
    for by a requester), in the audit log; see ``audit_download``."""
    audit_download(
        session,
        user,
        ticket,
        clock,
        allowed=allowed,
        what="attachment",
        detail={"attachment_id": attachment_id},
    )


def audit_download(
    session: Session,
    user: User,
    ticket: Ticket,
    clock: Clock,
    *,
    allowed: bool,
    what: str,
    detail: dict[str, Any],
) -> None:
    """A download from a sensitive ticket (``what``: "attachment", "raw_email"), or its refusal, in the
    audit log as ``<what>_downloaded`` / ``<what>_download_denied``; the refusal written apart, as
    ``ticket_for`` writes its own."""
    if not ticket.sensitive:
        return
    fields: dict[str, Any] = {
        "actor": user,
        "action": f"{what}_downloaded" if allowed else f"{what}_download_denied",
        "subject_type": "ticket",
        "subject_id": ticket.id,
        "at": clock.now(),
        "detail": detail,
    }
    if allowed:
        audit.record(session, **fields)
    else:
        audit.record_apart(session, [audit.entry(**fields)])


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
