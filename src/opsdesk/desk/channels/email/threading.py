"""Which ticket an inbound mail belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import User
from opsdesk.desk.channels.email.parse import ParsedEmail
from opsdesk.desk.models import AuthorKind, Message, Ticket

# "[#1234]" as carried by every outbound subject; the customer's client keeps it when they reply.
TICKET_TAG = re.compile(r"\[#(\d{1,12})\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|vs|antw|wg|tr|r)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def strip_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and our ticket tag, for titling a ticket."""
    without_tag = TICKET_TAG.sub("", subject)
    return re.sub(r"\s+", " ", _REPLY_PREFIX.sub("", without_tag)).strip()


def reply_subject(ticket: Ticket) -> str:
    """ "Re: <subject> [#N]": the tag lets a reply find its ticket when a client drops the headers."""
    return f"Re: {strip_subject(ticket.subject) or '(no subject)'} [#{ticket.id}]"


@dataclass(frozen=True)
class ThreadMatch:
    ticket: Ticket
    via: str  # "headers" or "subject"


def _live_ticket(session: Session, ticket: Ticket) -> Ticket:
    """A merged ticket's conversation continues on the ticket it was merged into."""
    seen = {ticket.id}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        seen.add(ticket.merged_into_id)
        ticket = session.get_one(Ticket, ticket.merged_into_id)
    return ticket


def _may_write_on(sender: User, ticket: Ticket) -> bool:
    """The ticket's requester, or a colleague from the same organisation."""
    if sender.id == ticket.requester_id:
        return True
    return sender.organisation_id is not None and sender.organisation_id == ticket.organisation_id


def _by_headers(session: Session, mail: ParsedEmail, sender: User) -> Ticket | None:
    # In-Reply-To names the mail being answered; References lists the thread oldest first, so the
    # newest known id decides when a thread spans tickets (e.g. after a follow-up was opened).
    wanted = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    if not wanted:
        return None
    rows = session.execute(
        select(Message.email_message_id, Message.ticket_id, Message.author_kind).where(
            Message.email_message_id.in_(wanted)
        )
    )
    found = {str(mid): (int(tid), kind) for mid, tid, kind in rows}
    for mid in wanted:
        if mid not in found:
            continue
        ticket_id, kind = found[mid]
        ticket = session.get_one(Ticket, ticket_id)
        # Our own Message-IDs carry 64 random bits: only people the reply reached can quote one, so
        # any sender may (a colleague on Cc answering is normal). A customer's Message-ID is minted by
        # their mail client and may be guessable (a timestamp and a host name), so quoting one counts
        # only for senders who could write on the ticket anyway, like the subject tag below.
        if kind is not AuthorKind.REQUESTER or _may_write_on(sender, ticket):
            return ticket
    return None


def _by_subject(session: Session, mail: ParsedEmail, sender: User) -> Ticket | None:
    # Subject-only matching lets anyone add to any ticket: numbers are sequential and "[#1234]" is
    # typed as easily as read, so a stranger could plant text (a phishing link, false instructions) in
    # another customer's conversation, or in a ticket holding health data. The subject tag is only a
    # fallback for clients that drop In-Reply-To/References, so it counts only when the sender could
    # have written on that ticket anyway: its requester, or a colleague from the same organisation.
    for number in reversed(TICKET_TAG.findall(mail.subject)):
        ticket = session.get(Ticket, int(number))
        if ticket is not None and _may_write_on(sender, ticket):
            return ticket
    return None


def find_ticket(session: Session, mail: ParsedEmail, sender: User) -> ThreadMatch | None:
    """The ticket ``mail`` continues, or None when it starts a new conversation.

    A Message-ID we stored (one of our replies, or a customer's mail) is the strong signal; the subject
    tag is the weak fallback for clients that drop the headers. Who may use which is explained above.
    """
    ticket = _by_headers(session, mail, sender)
    if ticket is not None:
        return ThreadMatch(_live_ticket(session, ticket), "headers")
    ticket = _by_subject(session, mail, sender)
    if ticket is not None:
        return ThreadMatch(_live_ticket(session, ticket), "subject")
    return None
