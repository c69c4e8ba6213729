"""A demo email conversation filed as real mail, so the ticket page shows what the email channel keeps:
Cc recipients, an Outlook reply with its quoted history folded, and each mail's raw .eml."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.demo.people import DEMO_REQUESTER
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import receive_email
from opsdesk.desk.models import AuthorKind, Channel, Ticket

FIRST = """Hello,

Our March eligibility file was rejected overnight with "row 4,212: invalid date of birth". The same
file format worked in February. Lee from our HR team and our benefits manager are copied.

Thanks,
Jordan Ellis
Benefits Operations"""

ANSWER = """Hi Jordan,

Row 4,212 has a date of birth of 1900-02-30. Could you correct it and upload the file again? We have
kept February's file active until then, so nobody loses coverage.

Best regards"""

REPLY = """Corrected and uploaded again just now, thank you for keeping February active.

Jordan

________________________________
From: OpsDesk Support <{support}>
Sent: {sent}
To: Jordan Ellis <{customer}>
Cc: Lee Park <lee.park@opsdesk.demo>; Dana Whitfield <dana.whitfield@opsdesk.demo>
Subject: Re: March eligibility file rejected [#{number}]

{answer}
"""


def _mail(
    *, subject: str, text: str, message_id: str, at: datetime, support: str, reply_to: str = ""
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Jordan Ellis <{DEMO_REQUESTER}>"
    msg["To"] = f"OpsDesk Support <{support}>"
    msg["Cc"] = "Lee Park <lee.park@opsdesk.demo>, Dana Whitfield <dana.whitfield@opsdesk.demo>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<{message_id}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    msg.set_content(text)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def create_email_conversation(session: Session, *, agent: User, settings: Settings, now: datetime) -> int:
    """The demo customer's email ticket: their mail, an agent's answer and their Outlook reply."""
    store = AttachmentStore.from_settings(settings)
    opened_at = now - timedelta(hours=5)
    first = _mail(subject="March eligibility file rejected", text=FIRST, message_id="march-file@demo.invalid",
                  at=opened_at, support=settings.support_address)  # fmt: skip
    result = receive_email(session, raw=first, clock=FixedClock(opened_at), store=store, settings=settings)
    ticket = session.get_one(Ticket, result.ticket_id)
    answered_at = opened_at + timedelta(hours=1)
    actions.add_message(
        session, ticket=ticket, author=agent, author_kind=AuthorKind.AGENT, public=True, channel=Channel.WEB,
        clock=FixedClock(answered_at), body_text=ANSWER,
    )  # fmt: skip
    replied_at = answered_at + timedelta(hours=2)
    text = REPLY.format(support=settings.support_address, sent=format_datetime(answered_at),
                        customer=DEMO_REQUESTER, number=ticket.id, answer=ANSWER)  # fmt: skip
    reply = _mail(subject=f"RE: Re: March eligibility file rejected [#{ticket.id}]", text=text,
                  message_id="march-file-reply@demo.invalid", at=replied_at, support=settings.support_address,
                  reply_to="march-file@demo.invalid")  # fmt: skip
    receive_email(session, raw=reply, clock=FixedClock(replied_at), store=store, settings=settings)
    return ticket.id
