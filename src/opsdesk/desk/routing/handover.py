"""Follow-the-sun: when a site's shift ends, its tickets that wait on the team go to the next site on
shift with a hand-off note. Tickets waiting on the customer (pending) or a third party (on hold) stay,
and a chat in progress is not cut: it stays with its agent until it ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.events import new_event, write_events
from opsdesk.core.models import Site, User
from opsdesk.desk.channels.chat.models import ChatConversation, ChatState
from opsdesk.desk.models import AuthorKind, Message, Status, Ticket
from opsdesk.desk.routing.models import Handover, QueueEntry, SiteShift
from opsdesk.desk.routing.presence import unassign
from opsdesk.desk.routing.state import site_hours
from opsdesk.desk.routing.triggers import request_drain
from opsdesk.desk.sla.business_hours import BusinessHours

WAITING_ON_TEAM = (Status.NEW, Status.OPEN)
NOTE_TEXT = 500
_LOOKAHEAD = timedelta(days=1)


def _shift_left(hours: BusinessHours | None, now: datetime) -> timedelta:
    """How long the site stays on shift from ``now`` (zero when off shift; 24x7 counts as a full day)."""
    if hours is None:
        return _LOOKAHEAD
    if not hours.is_open(now):
        return timedelta(0)
    spans = hours.open_spans(now, now + _LOOKAHEAD)
    end = now
    for start, stop in spans:
        if start > end:
            break
        end = stop
    return end - now


def next_site(hours: dict[int, BusinessHours | None], *, leaving: int, now: datetime) -> int | None:
    """The site on shift now that stays on shift longest: the one the sun is moving to."""
    best: tuple[timedelta, int] | None = None
    for site_id, site_hours_ in sorted(hours.items()):
        if site_id == leaving:
            continue
        left = _shift_left(site_hours_, now)
        if left > timedelta(0) and (best is None or left > best[0]):
            best = (left, site_id)
    return best[1] if best is not None else None


def check_shifts(session: Session, *, clock: Clock) -> list[Handover]:
    """Hand over from every site whose shift ended since the last check; remember who is on shift."""
    now = clock.now()
    hours = site_hours(session, now)
    handed: list[Handover] = []
    for row in session.scalars(select(SiteShift).order_by(SiteShift.site_id)).all():
        on = _shift_left(hours.get(row.site_id), now) > timedelta(0)
        if row.on_shift and not on:
            to = next_site(hours, leaving=row.site_id, now=now)
            handed += hand_over_site(session, site_id=row.site_id, to_site_id=to, clock=clock)
        row.on_shift, row.checked_at = on, now
    session.flush()
    return handed


def _pending(ticket: Ticket, last: Message | None) -> str:
    if ticket.status is Status.NEW:
        return "first reply to the customer"
    if last is not None and last.author_kind is AuthorKind.REQUESTER:
        return "reply to the customer's latest message"
    return "follow-up: the customer has our latest reply, the team owes the next step"


def hand_over_site(session: Session, *, site_id: int, to_site_id: int | None, clock: Clock) -> list[Handover]:
    """Move the site's tickets waiting on the team to ``to_site_id``'s queue, each with a note."""
    now = clock.now()
    in_progress = select(ChatConversation.ticket_id).where(ChatConversation.state == ChatState.ACTIVE)
    site_agents = select(User.id).where(User.site_id == site_id)
    queued_here = select(QueueEntry.ticket_id).where(QueueEntry.site_id == site_id)
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_(WAITING_ON_TEAM),
            Ticket.merged_into_id.is_(None),
            or_(Ticket.assignee_id.in_(site_agents), Ticket.id.in_(queued_here)),
            Ticket.id.not_in(in_progress),
        )
        .order_by(Ticket.id)
    ).all()
    if not tickets:
        return []
    ids = [t.id for t in tickets]
    last_customer: dict[int, Message] = {}
    last_public: dict[int, Message] = {}
    for message in session.scalars(
        select(Message).where(Message.ticket_id.in_(ids), Message.public.is_(True)).order_by(Message.id)
    ):
        last_public[message.ticket_id] = message
        if message.author_kind is AuthorKind.REQUESTER:
            last_customer[message.ticket_id] = message
    names = dict(
        session.execute(select(Site.id, Site.name).where(Site.id.in_([site_id, to_site_id or 0]))).all()
    )
    rows: list[Handover] = []
    events = []
    for ticket in tickets:
        customer = last_customer.get(ticket.id)
        note: dict[str, Any] = {
            "from_site": names.get(site_id),
            "to_site": names.get(to_site_id) if to_site_id is not None else None,
            "status": ticket.status.value,
            "last_customer_message": customer.body_text[:NOTE_TEXT] if customer is not None else None,
            "last_customer_message_at": customer.created_at.isoformat() if customer is not None else None,
            "pending": _pending(ticket, last_public.get(ticket.id)),
            "sla_due_at": ticket.sla_next_due_at.isoformat() if ticket.sla_next_due_at else None,
        }
        rows.append(
            Handover(
                at=now,
                ticket_id=ticket.id,
                from_site_id=site_id,
                to_site_id=to_site_id,
                from_agent_id=ticket.assignee_id,
                note=note,
            )
        )
        events.append(
            new_event(
                subject_type="ticket",
                subject_id=ticket.id,
                type="handed_over",
                at=now,
                data={"from_site_id": site_id, "to_site_id": to_site_id, "note": note},
            )
        )
    previous = {t.id: t.assignee_id for t in tickets}
    session.add_all(rows)
    write_events(session, events)
    unassign(session, previous=previous, now=now, reason="shift ended: hand-over", site_id=to_site_id)
    for ticket in tickets:
        ticket.site_id = to_site_id
    session.flush()
    request_drain(session, clock=clock)
    return rows
