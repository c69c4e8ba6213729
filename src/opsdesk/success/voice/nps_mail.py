"""The NPS survey email: "How likely are you to recommend us?" with eleven one-click links (0-10), each
signed and bound to the invitation, the score and an expiry; sent through the outbound SMTP server as
a claimed queue drain, like the desk's mail (success never imports the desk: the transport is core's)."""

from __future__ import annotations

import html
import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import outbox
from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.events import append_event
from opsdesk.core.settings import Settings
from opsdesk.core.signing import BadLink, sign, verify
from opsdesk.core.smtp import SmtpConnection, parse_smtp_url
from opsdesk.success.voice.models import InvitationStatus, NpsInvitation
from opsdesk.success.voice.nps_surveys import ANSWER_WINDOW

log = logging.getLogger(__name__)
RATE, FORM = "nps.rate", "nps.form"
RETRY_AFTER = (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6))


def _id(body: dict[str, object], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31 - 1:
        raise BadLink("this link is not valid", field="token")
    return value


def score_token(settings: Settings, *, invitation_id: int, score: int, now: datetime) -> str:
    return sign(settings, RATE, {"i": invitation_id, "s": score}, expires=now + ANSWER_WINDOW)


def read_score_token(settings: Settings, token: str, *, now: datetime) -> tuple[int, int]:
    body = verify(settings, RATE, token, now=now)
    score = body.get("s")
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise BadLink("this link is not valid", field="token")
    return _id(body, "i"), score


def form_token(settings: Settings, *, invitation_id: int, now: datetime) -> str:
    return sign(settings, FORM, {"i": invitation_id}, expires=now + ANSWER_WINDOW)


def read_form_token(settings: Settings, token: str, *, now: datetime) -> int:
    return _id(verify(settings, FORM, token, now=now), "i")


def build_nps_email(invitation: NpsInvitation, *, settings: Settings, now: datetime) -> EmailMessage:
    base = settings.link_base()
    links = [
        (n, f"{base}/surveys/nps/{score_token(settings, invitation_id=invitation.id, score=n, now=now)}")
        for n in range(11)
    ]
    question = "How likely are you to recommend us to a colleague, from 0 (not at all) to 10 (extremely)?"
    text = "\n".join(
        [f"Hello {invitation.contact.name},", "", question, "", *(f"{n}: {url}" for n, url in links), "",
         "One click records your answer; you can then tell us why."]
    )  # fmt: skip
    cells = "".join(f'<a href="{html.escape(url)}">{n}</a> ' for n, url in links)
    mail = EmailMessage()
    mail["From"] = formataddr(("Customer Success", settings.support_address))
    mail["To"] = invitation.to
    mail["Subject"] = f"{invitation.account.name}: how likely are you to recommend us?"
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid("opsdesk.nps", domain=settings.support_address.rsplit("@", 1)[-1])
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(text)
    mail.add_alternative(
        f"<p>Hello {html.escape(invitation.contact.name)},</p><p>{html.escape(question)}</p><p>{cells}</p>"
        "<p>One click records your answer; you can then tell us why.</p>",
        subtype="html",
    )
    return mail


def send_pending_invitations(
    session_factory: sessionmaker[Session], *, clock: Clock, settings: Settings, limit: int = 200
) -> int:
    """Send every due invitation; returns how many were sent. Rows are claimed, so runs may overlap."""
    if not settings.smtp_url:
        return 0
    target = parse_smtp_url(settings.smtp_url)
    with transaction(session_factory) as session:
        due = outbox.due_ids(
            session, NpsInvitation, pending=InvitationStatus.PENDING, now=clock.now(), limit=limit
        )
    sent = 0
    with SmtpConnection(target) as smtp:
        for invitation_id in due:
            with transaction(session_factory) as session:
                now = clock.now()
                invitation: NpsInvitation | None = outbox.claim(
                    session, NpsInvitation, invitation_id, pending=InvitationStatus.PENDING, now=now
                )
                if invitation is None:
                    continue
                mail, to = build_nps_email(invitation, settings=settings, now=now), invitation.to
            try:
                smtp.send(mail, from_addr=settings.support_address, to_addrs=[to])
            except (smtplib.SMTPException, OSError) as exc:
                with transaction(session_factory) as session:
                    usable = outbox.record_failure(
                        session, NpsInvitation, invitation_id, exc, retry_after=RETRY_AFTER,
                        failed=InvitationStatus.FAILED, now=clock.now(),
                    )  # fmt: skip
                if not usable:
                    break
                continue
            with transaction(session_factory) as session:
                row = session.get_one(NpsInvitation, invitation_id)
                row.status, row.sent_at, row.last_error = InvitationStatus.SENT, clock.now(), None
                append_event(
                    session, subject_type="account", subject_id=row.account_id, type="nps_survey_sent",
                    at=clock.now(), data={"contact_id": row.contact_id},
                )  # fmt: skip
            sent += 1
    return sent
