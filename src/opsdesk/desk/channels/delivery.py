"""Hands a public agent reply to the channel that reaches the requester.

A social ticket's reply goes back to the platform through its connector (``social.outbound``); any
other goes by email: a requester with an address gets the reply queued as an outbound email in the
same transaction as the message, so a rolled-back reply is never sent and a committed one always is.
The ticket's Cc recipients (see ``email.ccs``) are copied on it.

Chat replies written after the visitor left the chat go by email too, but batched: an agent types
several short messages in a row, and a mail per line would bury the customer. The first waits
CHAT_MAIL_BATCH before it is sent, and every chat reply written meanwhile joins its mail (one
message, threaded like any other reply, with each line's author and time).
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.jobs import enqueue
from opsdesk.desk.channels.email.ccs import ticket_ccs
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.channels.email.outbound import SEND_MAIL
from opsdesk.desk.channels.email.threading import reply_subject
from opsdesk.desk.models import AuthorKind, Channel, Message

# RFC 5322 suggests keeping the first and the latest ids when References grows long.
MAX_REFERENCES = 20
CHAT_MAIL_BATCH = timedelta(minutes=2)
MAX_BATCHED = 50  # chat replies in one mail; the next one starts a new mail

# Built once, run on the session's connection: building them, and an ORM flush of the outbound row,
# cost more CPU than the statements themselves.
_EARLIER_IDS = (
    select(Message.email_message_id, Message.author_kind)
    .where(
        Message.ticket_id == bindparam("ticket_id"),
        Message.email_message_id.is_not(None),
        Message.id != bindparam("message_id"),
    )
    .order_by(Message.id)
)
_OUTBOUND_COLUMNS = (
    "message_id",
    "to",
    "cc",
    "subject",
    "in_reply_to",
    "references",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
_QUEUE_OUTBOUND = (
    insert(cast(Table, OutboundEmail.__table__))
    .values({name: bindparam(name) for name in _OUTBOUND_COLUMNS})
    .returning(OutboundEmail.__table__.c.id)
)


def _messages_pending(session: Session) -> bool:
    """Whether a message is added, changed or deleted but not yet flushed: the thread read needs it."""
    return any(
        isinstance(obj, Message)
        for pending in (session.new, session.dirty, session.deleted)
        for obj in pending
    )


def _join_chat_batch(session: Session, message: Message) -> bool:
    """Add a chat reply to the ticket's chat mail that is still waiting out its batch window, if any
    (its first attempt not yet made, so nothing of it has gone out)."""
    row = session.scalar(
        select(OutboundEmail)
        .join(Message, Message.id == OutboundEmail.message_id)
        .where(
            Message.ticket_id == message.ticket_id,
            Message.channel == Channel.CHAT,
            OutboundEmail.status == OutboundStatus.PENDING,
            OutboundEmail.attempts == 0,
        )
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    )
    if row is None or len(row.batched_message_ids) >= MAX_BATCHED:
        return False
    # A conditional update, so a send run that claims the row at this moment (attempts becomes 1)
    # and this join cannot both win: the reply then starts a mail of its own.
    joined = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == row.id, OutboundEmail.attempts == 0)
        .values(batched_message_ids=[*row.batched_message_ids, message.id])
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return bool(joined.rowcount)  # type: ignore[attr-defined]


def _queue_email(session: Session, message: Message, clock: Clock) -> int | None:
    """The outbound row's id; None when the requester has no address."""
    ticket = message.ticket
    to = ticket.requester.email
    if not to:
        return None
    now = clock.now()
    send_at = now
    if message.channel is Channel.CHAT:
        if _join_chat_batch(session, message):
            return None
        send_at = now + CHAT_MAIL_BATCH
    earlier = list(
        session.connection().execute(_EARLIER_IDS, {"ticket_id": ticket.id, "message_id": message.id})
    )
    chain = [str(mid) for mid, _kind in earlier]
    from_requester = [str(mid) for mid, kind in earlier if kind is AuthorKind.REQUESTER]
    in_reply_to = from_requester[-1] if from_requester else (chain[-1] if chain else None)
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    return int(
        session.connection()
        .execute(
            _QUEUE_OUTBOUND,
            {
                "message_id": message.id,
                "to": to,
                "cc": ticket_ccs(session, ticket.id),
                "subject": reply_subject(ticket),
                "in_reply_to": in_reply_to,
                "references": " ".join(f"<{mid}>" for mid in chain),
                "status": OutboundStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": send_at,
                "created_at": now,
            },
        )
        .scalar_one()
    )


def deliver_public_reply(session: Session, *, message: Message, clock: Clock) -> None:
    """Queue ``message`` for the requester; tickets whose requester has no address get nothing.

    The outbound row is written straight to the connection, so it is not in the session afterwards
    (read it back with a query), and the caller's other pending changes are left to its next flush:
    only the messages the thread is read from must be flushed first."""
    if not message.public:
        return
    if message.ticket.channel is Channel.SOCIAL:
        from opsdesk.desk.channels.social.outbound import queue_social_reply

        if queue_social_reply(session, message=message, clock=clock):
            return
    if message.id is None or _messages_pending(session):
        session.flush()
    with session.no_autoflush:  # lazy loads of the ticket or its requester need nothing pending
        row_id = _queue_email(session, message, clock)
    if row_id is None:
        return
    # The job commits with this transaction; its periodic run picks up any retries later.
    delay = CHAT_MAIL_BATCH if message.channel is Channel.CHAT else None
    enqueue(session, SEND_MAIL, clock=clock, key=f"{SEND_MAIL}:{row_id}", delay=delay)
