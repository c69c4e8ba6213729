"""Public agent replies leave through the configured SMTP server, threaded for the customer's client.

Sending is a queue drain: each due row is claimed with a conditional update (so two runs of the job
never both send it), sent, then marked. SMTP has no transactions, so a crash between the send and the
mark re-sends once after the claim's lease expires; the row keeps its Message-ID, so the customer's
client shows the copy once.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, sessionmaker

from opsdesk.core import outbox
from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.settings import Settings
from opsdesk.core.smtp import SmtpConnection, SmtpTarget, open_smtp, parse_smtp_url
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.models import Message

log = logging.getLogger(__name__)
__all__ = ["SmtpTarget", "open_smtp", "parse_smtp_url", "send_pending"]

# The background job that drains the queue (registered in ``jobs``, enqueued by ``delivery``).
SEND_MAIL = "desk.send_mail"

# Retry delays after the 1st, 2nd, ... failed attempt; after the last the row is marked failed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# How long a claimed row is left alone before another run may assume its sender died.


def support_domain(settings: Settings) -> str:
    """Our mail domain: Message-IDs are minted on it and the listener accepts mail only for it."""
    return settings.support_address.rsplit("@", 1)[-1].lower()


def new_message_id(row: OutboundEmail, settings: Settings) -> str:
    """Unique on our domain, and unguessable: quoting it is what lets any sender thread onto a ticket."""
    local = f"opsdesk.{row.message.ticket_id}.{row.message_id}.{secrets.token_hex(8)}"
    return f"{local}@{support_domain(settings)}"


def _batched(row: OutboundEmail) -> list[Message]:
    """The row's message, then the chat replies batched into its mail, in order."""
    if not row.batched_message_ids:
        return [row.message]
    session = object_session(row)
    assert session is not None
    later = session.scalars(select(Message).where(Message.id.in_(row.batched_message_ids))).all()
    return [row.message, *sorted(later, key=lambda m: m.id)]


def _chat_transcript(messages: list[Message]) -> tuple[str, str]:
    """Several chat replies as one mail body: each with its author and time, as the chat showed it."""
    texts, htmls = [], []
    for message in messages:
        who = message.author.name if message.author is not None else "Support"
        when = message.created_at.strftime("%H:%M UTC")
        texts.append(f"{who}, {when}:\n{message.body_text or ''}")
        htmls.append(f"<p><strong>{escape(who)}</strong>, {when}:</p>{message.body_html or ''}")
    return "\n\n".join(texts), "\n".join(htmls)


def build_email(row: OutboundEmail, *, settings: Settings, store: AttachmentStore) -> EmailMessage:
    message = row.message
    messages = _batched(row)
    author = message.author.name if message.author is not None else "Support"
    mail = EmailMessage()
    mail["From"] = formataddr((author, settings.support_address))
    mail["To"] = row.to
    if row.cc:
        mail["Cc"] = ", ".join(row.cc)
    mail["Subject"] = row.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = f"<{row.rfc_message_id}>"
    if row.in_reply_to:
        mail["In-Reply-To"] = f"<{row.in_reply_to}>"
    if row.references:
        mail["References"] = row.references
    if len(messages) > 1:
        text, html = _chat_transcript(messages)
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
    else:
        mail.set_content(message.body_text or " ")
        if message.body_html:
            mail.add_alternative(message.body_html, subtype="html")
    for attachment in (a for m in messages for a in m.attachments):
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            store.open(attachment.storage_key),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return mail


def _claim(session: Session, row_id: int, *, clock: Clock, settings: Settings) -> OutboundEmail | None:
    """Take one due row for this run, or None if another run took it (or it is no longer due)."""
    row: OutboundEmail | None = outbox.claim(
        session, OutboundEmail, row_id, pending=OutboundStatus.PENDING, now=clock.now()
    )
    if row is not None and row.rfc_message_id is None:
        row.rfc_message_id = new_message_id(row, settings)
        # Stored on the message too, so the customer's reply to this mail threads back to the ticket.
        row.message.email_message_id = row.rfc_message_id
    return row


def _permanent(exc: Exception) -> bool:
    """A refusal that retrying cannot fix: every recipient or the content rejected with a 5xx code."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def _record_failure(session: Session, row: OutboundEmail, exc: Exception, *, clock: Clock) -> None:
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if _permanent(exc) or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboundStatus.FAILED
        log.warning("giving up on outbound email %s to ticket message %s: %s", row.id, row.message_id, exc)
    else:
        row.next_attempt_at = clock.now() + BACKOFF[row.attempts - 1]


def send_pending(
    session_factory: sessionmaker[Session], *, clock: Clock, settings: Settings, limit: int = 200
) -> int:
    """Send every due outbound email; returns how many were sent. Safe to run concurrently."""
    if not settings.smtp_url:
        return 0
    target = parse_smtp_url(settings.smtp_url)
    store = AttachmentStore.from_settings(settings)
    with transaction(session_factory) as session:
        due = outbox.due_ids(
            session, OutboundEmail, pending=OutboundStatus.PENDING, now=clock.now(), limit=limit
        )
    sent = 0
    with SmtpConnection(target) as smtp:
        for row_id in due:
            with transaction(session_factory) as session:
                row = _claim(session, row_id, clock=clock, settings=settings)
                if row is None:
                    continue
                try:
                    mail = build_email(row, settings=settings, store=store)
                except (OpsDeskError, ValueError) as exc:
                    # A reply that cannot be written (its attachment gone from the store, a header
                    # that cannot be encoded) will not improve with retries.
                    row.status = OutboundStatus.FAILED
                    row.last_error = f"cannot build the email: {exc}"[:2000]
                    log.warning("outbound email %s cannot be built: %s", row.id, exc)
                    continue
                recipients = [row.to, *row.cc]
            try:
                smtp.send(mail, from_addr=settings.support_address, to_addrs=recipients)
            except (smtplib.SMTPException, OSError) as exc:
                with transaction(session_factory) as session:
                    _record_failure(session, session.get_one(OutboundEmail, row_id), exc, clock=clock)
                if not isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                    break  # the server is unreachable: the rest would fail the same way
                continue
            with transaction(session_factory) as session:
                row = session.get_one(OutboundEmail, row_id)
                row.status = OutboundStatus.SENT
                row.sent_at = clock.now()
                row.last_error = None
            sent += 1
    return sent
