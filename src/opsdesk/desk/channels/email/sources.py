"""What each inbound mail was before it became a message: the raw RFC 822 bytes, kept in the attachment
store (content-addressed, so a mail delivered twice is stored once), and the whole text when quoted
history was cut from the message. An agent checking a disputed header, a phishing report or what the
customer's client really sent downloads the mail itself (``.eml``), under the ticket's access rules."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.desk.access import messages_visible_to
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.models import InboundEmail
from opsdesk.desk.models import Message, Ticket


def keep_source(
    session: Session,
    *,
    message: Message,
    raw: bytes,
    full_text: str | None,
    store: AttachmentStore,
    in_reply_to: str | None = None,
) -> InboundEmail:
    """Store ``raw`` and record it (the uncut text, the Message-ID it answers) against ``message``; once
    per message."""
    if message.id is None:
        session.flush()
    existing = session.get(InboundEmail, message.id)
    if existing is not None:
        return existing
    # The listener's limit (twice the attachment limit) bounds what is kept; a larger mail fetched
    # over IMAP is still filed, without its raw copy (``raw_key`` None).
    limit = store.max_bytes * 2
    key = store.put(raw, max_bytes=limit) if len(raw) <= limit else None
    row = InboundEmail(
        message_id=message.id,
        raw_key=key,
        raw_size=len(raw),
        full_text=full_text,
        in_reply_to=in_reply_to[:500] if in_reply_to else None,
    )
    session.add(row)
    return row


def sources_for(session: Session, message_ids: Iterable[int]) -> dict[int, InboundEmail]:
    """The inbound record of each of the messages that came in by email, by message id."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = session.scalars(select(InboundEmail).where(InboundEmail.message_id.in_(ids)))
    return {row.message_id: row for row in rows}


def raw_source_for(session: Session, *, ticket: Ticket, message_id: int, user: User) -> InboundEmail:
    """The kept raw mail of a message the caller may read on a ticket they may read; NotFound otherwise
    (the same rule as ``queries.attachment_for``)."""
    row = session.scalar(
        select(InboundEmail)
        .join(Message, Message.id == InboundEmail.message_id)
        .where(
            InboundEmail.message_id == message_id,
            InboundEmail.raw_key.is_not(None),
            Message.ticket_id == ticket.id,
            messages_visible_to(user),
        )
    )
    if row is None:
        raise NotFound(
            f"no received email for message {message_id} on ticket #{ticket.id}", field="message_id"
        )
    return row
