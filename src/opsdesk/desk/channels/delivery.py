"""Hands a public agent reply to the channel that reaches the requester.

Today that is email: a requester with an address gets the reply queued as an outbound email in the
same transaction as the message, so a rolled-back reply is never sent and a committed one always is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.jobs import enqueue
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.channels.email.outbound import SEND_MAIL
from opsdesk.desk.channels.email.threading import reply_subject
from opsdesk.desk.models import AuthorKind, Message

# RFC 5322 suggests keeping the first and the latest ids when References grows long.
MAX_REFERENCES = 20


def deliver_public_reply(session: Session, *, message: Message, clock: Clock) -> None:
    """Queue ``message`` for the requester; tickets whose requester has no address get nothing."""
    if not message.public:
        return
    if message.id is None:
        session.flush()
    ticket = message.ticket
    to = ticket.requester.email
    if not to:
        return
    earlier = list(
        session.execute(
            select(Message.email_message_id, Message.author_kind)
            .where(
                Message.ticket_id == ticket.id,
                Message.email_message_id.is_not(None),
                Message.id != message.id,
            )
            .order_by(Message.id)
        )
    )
    chain = [str(mid) for mid, _kind in earlier]
    from_requester = [str(mid) for mid, kind in earlier if kind is AuthorKind.REQUESTER]
    in_reply_to = from_requester[-1] if from_requester else (chain[-1] if chain else None)
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    row = OutboundEmail(
        message_id=message.id,
        to=to,
        cc=[],
        subject=reply_subject(ticket),
        in_reply_to=in_reply_to,
        references=" ".join(f"<{mid}>" for mid in chain),
        status=OutboundStatus.PENDING,
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    # The job commits with this transaction; its periodic run picks up any retries later.
    enqueue(session, SEND_MAIL, clock=clock, key=f"{SEND_MAIL}:{row.id}")
