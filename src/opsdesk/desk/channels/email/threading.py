"""Which ticket an inbound mail belongs to."""

from __future__ import annotations

import re

from opsdesk.desk.models import Ticket

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
