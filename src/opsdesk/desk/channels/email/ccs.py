"""Who else is on a ticket's email conversation.

The customer decides who is copied: everyone they address besides us (To and Cc) is recorded when
their mail is filed (see ``may_add_ccs`` for whose mail counts), and every public agent reply is
copied to them. The agent may take someone off
(a colleague who left, an address added by mistake); each addition and removal is an event on the
ticket. Our own addresses are never recorded, or a reply would be mailed back into the desk.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import IdentityKind, User
from opsdesk.core.normalise import normalise_identity
from opsdesk.desk.channels.email.models import TicketCc
from opsdesk.desk.models import Ticket

# A mail to a whole mailing list of addresses should not make every later reply a mass mailing.
MAX_CCS = 20


def ticket_ccs(session: Session, ticket_id: int) -> list[str]:
    """The ticket's Cc addresses in the order they were added."""
    rows = session.scalars(
        select(TicketCc.address)
        .where(TicketCc.ticket_id == ticket_id)
        .order_by(TicketCc.added_at, TicketCc.address)
    )
    return list(rows)


def _ours(address: str, our_addresses: frozenset[str], our_domain: str) -> bool:
    return address in our_addresses or address.rsplit("@", 1)[-1] == our_domain


def may_add_ccs(sender: User, ticket: Ticket, present: set[str]) -> bool:
    """Whoever the requester, a colleague from their organisation or someone already copied puts on
    Cc is copied from then on. Anyone else who can thread onto the ticket (a reply quoting one of our
    Message-IDs may come from a forward) adds no one: agent replies, health data among them, would
    otherwise go to addresses the customer never chose."""
    if sender.id == ticket.requester_id or (sender.email or "").lower() in present:
        return True
    return sender.organisation_id is not None and sender.organisation_id == ticket.organisation_id


def record_ccs(
    session: Session,
    *,
    ticket: Ticket,
    sender: User,
    addresses: Iterable[str],
    our_addresses: frozenset[str],
    our_domain: str,
    clock: Clock,
) -> list[str]:
    """Add the mail's other recipients to the ticket (not us, not the requester) when ``sender`` may
    (``may_add_ccs``); returns those added."""
    present = set(ticket_ccs(session, ticket.id))
    if not may_add_ccs(sender, ticket, present):
        return []
    requester = (ticket.requester.email or "").lower()
    added: list[str] = []
    for raw in addresses:
        try:
            address = normalise_identity(IdentityKind.EMAIL, raw)
        except ValidationFailed:
            continue  # an unreadable recipient is not worth refusing the customer's mail over
        if len(address) > 320 or address in present or address == requester:
            continue
        if _ours(address, our_addresses, our_domain) or len(present) >= MAX_CCS:
            continue
        session.add(TicketCc(ticket_id=ticket.id, address=address, added_at=clock.now()))
        present.add(address)
        added.append(address)
        append_event(
            session,
            subject_type="ticket",
            subject_id=ticket.id,
            type="cc_added",
            at=clock.now(),
            data={"address": address, "via": "email"},
        )
    return added


def remove_cc(session: Session, *, ticket: Ticket, address: str, actor: User, clock: Clock) -> None:
    """Stop copying ``address`` on the ticket's replies; NotFound when it is not copied."""
    wanted = address.strip().lower()
    removed = session.execute(
        delete(TicketCc).where(TicketCc.ticket_id == ticket.id, TicketCc.address == wanted)
    )
    if removed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound(f"{wanted!r} is not copied on ticket #{ticket.id}", field="address")
    append_event(
        session,
        subject_type="ticket",
        subject_id=ticket.id,
        type="cc_removed",
        at=clock.now(),
        actor=actor,
        data={"address": wanted},
    )
