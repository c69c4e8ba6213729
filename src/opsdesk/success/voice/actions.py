"""Writes for escalations, NPS responses and feedback. Each runs in the caller's transaction (flush,
never commit) and appends its account events there; escalation_opened and nps_response_recorded are
what the playbook triggers read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.success.models import Account, Contact
from opsdesk.success.voice import product_export
from opsdesk.success.voice.models import (
    Escalation,
    EscalationEntry,
    EscalationStatus,
    EscalationTicket,
    FeedbackAsk,
    FeedbackRequest,
    NpsResponse,
    ProductArea,
    RequestStatus,
    Severity,
)

UNSET: Any = object()


def _staff(user: User | None, field: str) -> None:
    if user is not None and (not user.is_staff or not user.active):
        raise ValidationFailed("must be an active staff user", field=field)


def _tickets(numbers: Sequence[int]) -> list[int]:
    if any(n < 1 for n in numbers):
        raise ValidationFailed("ticket numbers are positive whole numbers", field="ticket_numbers")
    return sorted(set(numbers))


def _entry(
    escalation: Escalation, kind: str, note: str, at: datetime, author: User | None, now: datetime
) -> None:
    escalation.entries.append(
        EscalationEntry(at=at, kind=kind, note=note, author_id=author.id if author else None, created_at=now)
    )


# --- escalations --------------------------------------------------------------------------------------


def open_escalation(
    session: Session,
    *,
    account: Account,
    severity: Severity,
    title: str,
    clock: Clock,
    owner: User | None = None,
    executive_sponsor: User | None = None,
    ticket_numbers: Sequence[int] = (),
    note: str = "",
    actor: User | None = None,
) -> Escalation:
    if not title.strip():
        raise ValidationFailed("an escalation needs a title", field="title")
    _staff(owner, "owner_id")
    _staff(executive_sponsor, "executive_sponsor_id")
    now = clock.now()
    escalation = Escalation(
        account_id=account.id,
        severity=severity,
        title=title.strip(),
        owner_id=(owner.id if owner else account.owner_id),
        executive_sponsor_id=executive_sponsor.id if executive_sponsor else None,
        status=EscalationStatus.OPEN,
        opened_at=now,
        updated_at=now,
        tickets=[EscalationTicket(ticket_number=n) for n in _tickets(ticket_numbers)],
    )
    _entry(escalation, "status", note.strip() or f"opened as {severity.value}", now, actor, now)
    session.add(escalation)
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="escalation_opened",
        at=now,
        actor=actor,
        data={"escalation_id": escalation.id, "severity": severity.value, "title": escalation.title},
    )
    return escalation


def update_escalation(
    session: Session,
    *,
    escalation: Escalation,
    clock: Clock,
    actor: User | None = None,
    status: EscalationStatus | None = None,
    severity: Severity | None = None,
    title: str | None = None,
    owner: User | None = UNSET,
    executive_sponsor: User | None = UNSET,
    ticket_numbers: Sequence[int] | None = None,
    note: str = "",
) -> Escalation:
    """Change an escalation; status and severity changes become timeline entries and account events."""
    now = clock.now()
    if title is not None:
        if not title.strip():
            raise ValidationFailed("an escalation needs a title", field="title")
        escalation.title = title.strip()
    if owner is not UNSET:
        _staff(owner, "owner_id")
        escalation.owner_id = owner.id if owner else None
    if executive_sponsor is not UNSET:
        _staff(executive_sponsor, "executive_sponsor_id")
        escalation.executive_sponsor_id = executive_sponsor.id if executive_sponsor else None
    if ticket_numbers is not None:
        wanted = _tickets(ticket_numbers)
        escalation.tickets = [t for t in escalation.tickets if t.ticket_number in wanted] + [
            EscalationTicket(ticket_number=n)
            for n in wanted
            if n not in {t.ticket_number for t in escalation.tickets}
        ]
    if severity is not None and severity is not escalation.severity:
        line = f"severity {escalation.severity.value} -> {severity.value}"
        _entry(escalation, "severity", f"{line}: {note}" if note else line, now, actor, now)
        _event(
            session,
            escalation,
            "escalation_severity_changed",
            actor,
            now,
            {"from": escalation.severity.value, "to": severity.value},
        )
        escalation.severity = severity
    if status is not None and status is not escalation.status:
        line = f"status {escalation.status.value} -> {status.value}"
        _entry(escalation, "status", f"{line}: {note}" if note else line, now, actor, now)
        _event(
            session,
            escalation,
            f"escalation_{status.value}" if status is not EscalationStatus.OPEN else "escalation_reopened",
            actor,
            now,
            {"from": escalation.status.value},
        )
        escalation.status = status
        if status is EscalationStatus.MITIGATED:
            escalation.mitigated_at = now
        elif status is EscalationStatus.RESOLVED:
            escalation.resolved_at = now
        else:
            escalation.mitigated_at = escalation.resolved_at = None
    escalation.updated_at = now
    session.flush()
    return escalation


def _event(
    session: Session,
    escalation: Escalation,
    type: str,
    actor: User | None,
    now: datetime,
    data: dict[str, Any],
) -> None:
    append_event(
        session,
        subject_type="account",
        subject_id=escalation.account_id,
        type=type,
        at=now,
        actor=actor,
        data={"escalation_id": escalation.id, **data},
    )


def add_timeline_note(
    session: Session,
    *,
    escalation: Escalation,
    note: str,
    clock: Clock,
    at: datetime | None = None,
    author: User | None = None,
) -> EscalationEntry:
    """A dated note (``at`` may be earlier than now, for what happened on a call yesterday)."""
    if not note.strip():
        raise ValidationFailed("a timeline note needs text", field="note")
    now = clock.now()
    when = at or now
    if when > now:
        raise ValidationFailed("a timeline note cannot be dated in the future", field="at")
    if when < escalation.opened_at:
        raise ValidationFailed("a timeline note cannot predate the escalation", field="at")
    _entry(escalation, "note", note.strip(), when, author, now)
    escalation.updated_at = now
    session.flush()
    return escalation.entries[-1]


# --- NPS ----------------------------------------------------------------------------------------------


def record_nps_response(
    session: Session,
    *,
    account: Account,
    score: int,
    responded_at: datetime,
    clock: Clock,
    contact: Contact | None = None,
    comment: str = "",
    external_id: str | None = None,
) -> NpsResponse:
    """Store one survey answer; replaying the same external id returns the stored one unchanged."""
    if not 0 <= score <= 10:
        raise ValidationFailed("an NPS score is a whole number from 0 to 10", field="score")
    if responded_at > clock.now():
        raise ValidationFailed("a response cannot be dated in the future", field="responded_at")
    if contact is not None and contact.account_id != account.id:
        raise ValidationFailed("the contact belongs to another account", field="contact_id")
    if external_id:
        existing = session.scalar(select(NpsResponse).where(NpsResponse.external_id == external_id))
        if existing is not None:
            return existing
    row = NpsResponse(
        external_id=external_id or None,
        account_id=account.id,
        contact_id=contact.id if contact else None,
        score=score,
        comment=comment,
        responded_at=responded_at,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="nps_response_recorded",
        at=clock.now(),
        data={"response_id": row.id, "score": score, "contact_id": row.contact_id},
    )
    announce_nps(session, account=account, contact=contact, score=score, clock=clock)
    return row


def announce_nps(
    session: Session, *, account: Account, contact: Contact | None, score: int, clock: Clock
) -> None:
    """``nps_received`` on the account's desk organisation, the event every reader of NPS shares; the
    contact is named by the person (user) with the same address, when there is one."""
    if account.organisation_id is None:
        return
    person = (
        session.scalar(select(User.id).where(User.email == contact.email.strip().lower()))
        if contact is not None and contact.email
        else None
    )
    append_event(
        session,
        subject_type="organisation",
        subject_id=account.organisation_id,
        type="nps_received",
        at=clock.now(),
        data={"score": score, "contact_user_id": person},
    )


# --- feedback -----------------------------------------------------------------------------------------


def product_area(session: Session, *, name: str, clock: Clock) -> ProductArea:
    """The product area with this name, created on first use."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a product area needs a name", field="product_area")
    row = session.scalar(select(ProductArea).where(ProductArea.name == name))
    if row is None:
        row = ProductArea(name=name, created_at=clock.now())
        session.add(row)
        session.flush()
    return row


def create_request(
    session: Session,
    *,
    title: str,
    product_area_name: str,
    clock: Clock,
    description: str = "",
    actor: User | None = None,
) -> FeedbackRequest:
    if not title.strip():
        raise ValidationFailed("a request needs a title", field="title")
    now = clock.now()
    request = FeedbackRequest(
        title=title.strip(),
        description=description,
        product_area=product_area(session, name=product_area_name, clock=clock),
        status=RequestStatus.NEW,
        created_by_id=actor.id if actor else None,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    product_export.announce(session, request=request, created=True, changed=[], clock=clock, actor=actor)
    return request


def update_request(
    session: Session,
    *,
    request: FeedbackRequest,
    clock: Clock,
    title: str | None = None,
    description: str | None = None,
    product_area_name: str | None = None,
    status: RequestStatus | None = None,
    actor: User | None = None,
) -> FeedbackRequest:
    changed: list[str] = []
    if title is not None:
        if not title.strip():
            raise ValidationFailed("a request needs a title", field="title")
        if title.strip() != request.title:
            request.title = title.strip()
            changed.append("title")
    if description is not None and description != request.description:
        request.description = description
        changed.append("description")
    if product_area_name is not None:
        area = product_area(session, name=product_area_name, clock=clock)
        if area.id != request.product_area_id:
            request.product_area = area
            changed.append("product_area")
    if status is not None and status is not request.status:
        changed.append("status")
        request.status = status
        for ask in request.asks:  # tell each asking account's history what became of its request
            append_event(
                session,
                subject_type="account",
                subject_id=ask.account_id,
                type="feedback_status_changed",
                at=clock.now(),
                data={"request_id": request.id, "status": status.value},
            )
    request.updated_at = clock.now()
    session.flush()
    if changed:
        product_export.announce(
            session, request=request, created=False, changed=changed, clock=clock, actor=actor
        )
    return request


def add_ask(
    session: Session,
    *,
    request: FeedbackRequest,
    account: Account,
    clock: Clock,
    contact: Contact | None = None,
    ticket_number: int | None = None,
    note: str = "",
    actor: User | None = None,
) -> FeedbackAsk:
    """Record that an account asks for the request; an account counts once per request."""
    if contact is not None and contact.account_id != account.id:
        raise ValidationFailed("the contact belongs to another account", field="contact_id")
    if ticket_number is not None and ticket_number < 1:
        raise ValidationFailed("a ticket number is a positive whole number", field="ticket_number")
    if any(a.account_id == account.id for a in request.asks):
        raise Conflict(f"{account.name} already asks for this request", field="account_id")
    ask = FeedbackAsk(
        account_id=account.id,
        contact_id=contact.id if contact else None,
        ticket_number=ticket_number,
        note=note,
        created_at=clock.now(),
    )
    request.asks.append(ask)
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="feedback_requested",
        at=clock.now(),
        actor=actor,
        data={"request_id": request.id, "ticket_number": ticket_number},
    )
    product_export.announce(
        session, request=request, created=False, changed=["asks"], clock=clock, actor=actor
    )
    return ask


def remove_ask(
    session: Session, *, request: FeedbackRequest, account: Account, clock: Clock, actor: User | None = None
) -> None:
    before = len(request.asks)
    request.asks = [a for a in request.asks if a.account_id != account.id]
    session.flush()
    if len(request.asks) != before:
        product_export.announce(
            session, request=request, created=False, changed=["asks"], clock=clock, actor=actor
        )


def delete_request(session: Session, *, request: FeedbackRequest) -> None:
    session.delete(request)
    session.flush()
