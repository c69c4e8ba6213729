"""A bounce of one of our replies tells the agent the customer never got it.

The bounce itself never becomes a ticket (see ``loops``); instead the outbound row it reports on is
marked failed and the ticket gets an internal note with the receiving server's reason, so the agent
can reach the customer another way. The reply is found by our Message-ID, which a delivery report
quotes in its returned headers (RFC 3464) and most MTAs' plain-text bounces quote too.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.desk import actions
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.channels.email.parse import ParsedEmail
from opsdesk.desk.models import AuthorKind, Channel, Status

_OUR_ID = r"opsdesk\.\d+\.\d+\.[0-9a-f]{16}@"
_DIAGNOSTIC = re.compile(r"^(?:Diagnostic-Code|Status):\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def _searchable(mail: ParsedEmail) -> str:
    parts = [mail.body_text, " ".join(mail.in_reply_to), " ".join(mail.references)]
    parts += [a.data.decode("utf-8", "replace") for a in mail.attachments if len(a.data) < 1_000_000]
    return "\n".join(parts)


def record_bounce(session: Session, mail: ParsedEmail, *, domain: str, clock: Clock) -> OutboundEmail | None:
    """Mark the reply ``mail`` reports as undeliverable; None when it names none of ours."""
    text = _searchable(mail)
    ids = sorted(set(re.findall(_OUR_ID + re.escape(domain), text, flags=re.IGNORECASE)))
    if not ids:
        return None
    row = session.scalar(select(OutboundEmail).where(OutboundEmail.rfc_message_id.in_(ids)).limit(1))
    if row is None or row.status is OutboundStatus.FAILED:
        return row  # unknown, or already recorded: a repeated bounce adds nothing
    diagnostics = [d.strip() for d in _DIAGNOSTIC.findall(text)]
    reason = "; ".join(dict.fromkeys(diagnostics)) or mail.subject or "no reason given"
    row.status = OutboundStatus.FAILED
    row.last_error = f"bounced: {reason}"[:2000]
    ticket = row.message.ticket
    if ticket.status is not Status.CLOSED:
        actions.add_message(
            session,
            ticket=ticket,
            author=None,
            author_kind=AuthorKind.SYSTEM,
            public=False,
            channel=Channel.EMAIL,
            clock=clock,
            body_text=f"The email reply to {row.to} could not be delivered: {reason}",
        )
    return row
