"""A customer's desk history for its account timeline: the tickets of its organisation (opened, solved)
and any satisfaction ratings on them, and the customers' replies to mail success sent (found by the
Message-ID they answer). ``success`` never reads desk tables; its pages come here.

Sensitive tickets keep their place on the timeline but show their subject only to readers with
sensitive access, so the timeline never leaks what the ticket page would refuse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, User
from opsdesk.desk.access import has_sensitive_access
from opsdesk.desk.channels.email.models import InboundEmail
from opsdesk.desk.models import Message, Ticket

HIDDEN_SUBJECT = "Sensitive ticket"


@dataclass(frozen=True)
class TicketMoment:
    at: datetime
    kind: str  # "ticket_opened", "ticket_solved" or the rating event's type
    ticket_number: int
    subject: str
    detail: str


def _rating(data: object) -> str:
    """``good``, or ``bad (2/5)`` on the 1-5 scale."""
    if not isinstance(data, dict):
        return ""
    score = data.get("score")
    return str(data.get("rating", "")) + (f" ({score}/5)" if score is not None else "")


def organisation_timeline(
    session: Session, organisation_id: int, *, reader: User, since: datetime, limit: int = 200
) -> list[TicketMoment]:
    """Newest first: each ticket's opening and solving since ``since`` and ratings recorded on them."""
    tickets = session.execute(
        select(
            Ticket.id, Ticket.subject, Ticket.sensitive, Ticket.status, Ticket.created_at, Ticket.solved_at
        )
        .where(
            Ticket.organisation_id == organisation_id,
            Ticket.merged_into_id.is_(None),
            (Ticket.created_at >= since) | (Ticket.solved_at >= since),
        )
        .order_by(Ticket.created_at.desc())
        .limit(limit)
    ).all()
    see_sensitive = has_sensitive_access(reader)
    moments: list[TicketMoment] = []
    subject_of: dict[int, str] = {}
    for number, subject, sensitive, status, created, solved in tickets:
        shown = HIDDEN_SUBJECT if sensitive and not see_sensitive else subject
        subject_of[number] = shown
        if created >= since:
            moments.append(TicketMoment(created, "ticket_opened", number, shown, status.value))
        if solved is not None and solved >= since:
            moments.append(TicketMoment(solved, "ticket_solved", number, shown, ""))
    if subject_of:
        ratings = session.execute(
            select(Event.subject_id, Event.type, Event.at, Event.data).where(
                and_(Event.subject_type == "ticket", Event.subject_id.in_(list(subject_of))),
                Event.type.like("csat%"),
                Event.at >= since,
            )
        ).all()
        for number, type_, at, data in ratings:
            moments.append(TicketMoment(at, str(type_), int(number), subject_of[int(number)], _rating(data)))
    moments.sort(key=lambda m: m.at, reverse=True)
    return moments[:limit]


def replies_to(
    session: Session, message_ids: list[str], *, reader: User, limit: int = 200
) -> list[TicketMoment]:
    """Inbound mails that answer one of ``message_ids`` (mail sent outside a ticket, e.g. a playbook
    email), newest first, as the tickets (or follow-ups) the desk filed them in. The detail is the
    Message-ID answered."""
    if not message_ids:
        return []
    rows = session.execute(
        select(Message.created_at, Ticket.id, Ticket.subject, Ticket.sensitive, InboundEmail.in_reply_to)
        .join(Message, Message.id == InboundEmail.message_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(InboundEmail.in_reply_to.in_(message_ids))
        .order_by(Message.created_at.desc())
        .limit(limit)
    ).all()
    see_sensitive = has_sensitive_access(reader)
    return [
        TicketMoment(
            at,
            "email_reply",
            number,
            HIDDEN_SUBJECT if sensitive and not see_sensitive else subject,
            answered or "",
        )
        for at, number, subject, sensitive, answered in rows
    ]
