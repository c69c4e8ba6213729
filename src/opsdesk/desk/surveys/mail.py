"""The survey email: one link per rating choice and an opt-out link, sent through the outbound SMTP
server the replies use, as a queue drain like theirs (claim, send, mark; retried with the same backoff).

It carries ``Auto-Submitted: auto-generated`` (RFC 3834) so the customer's auto-responder does not
answer it, and threads under the ticket's conversation."""

from __future__ import annotations

import html
import logging
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import outbox
from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.events import append_event
from opsdesk.core.settings import Settings
from opsdesk.core.smtp import SmtpConnection, parse_smtp_url
from opsdesk.desk.channels.email.outbound import (
    BACKOFF,
    support_domain,
)
from opsdesk.desk.models import Status, Ticket
from opsdesk.desk.surveys.links import opt_out_token, public_link, rating_token
from opsdesk.desk.surveys.models import CsatSurvey, SurveyStatus
from opsdesk.desk.surveys.scale import choice_label, choices

log = logging.getLogger(__name__)
SENT_EVENT = "survey_sent"


def build_survey_email(
    survey: CsatSurvey, ticket: Ticket, *, settings: Settings, clock: Clock
) -> EmailMessage:
    now = clock.now()
    links = [
        (choice_label(survey.scale, c), public_link(settings, "/surveys/csat/" + rating_token(
            settings, ticket_id=ticket.id, choice=c, now=now
        )))
        for c in choices(survey.scale)
    ]  # fmt: skip
    opt_out = public_link(
        settings, "/surveys/opt-out/" + opt_out_token(settings, user_id=ticket.requester_id, now=now)
    )
    intro = f'How would you rate the support you received on your request "{ticket.subject}" (#{ticket.id})?'
    text = "\n".join(
        [f"Hello {ticket.requester.name},", "", intro, "", *(f"{label}: {url}" for label, url in links), "",
         "One click records your answer; you can then add a comment.", "",
         f"No more surveys: {opt_out}"]
    )  # fmt: skip
    items = "".join(f'<li><a href="{html.escape(url)}">{html.escape(label)}</a></li>' for label, url in links)
    body = (
        f"<p>Hello {html.escape(ticket.requester.name)},</p><p>{html.escape(intro)}</p><ul>{items}</ul>"
        "<p>One click records your answer; you can then add a comment.</p>"
        f'<p><small><a href="{html.escape(opt_out)}">I do not want satisfaction surveys</a></small></p>'
    )
    mail = EmailMessage()
    mail["From"] = formataddr(("Support", settings.support_address))
    mail["To"] = survey.to or ""
    mail["Subject"] = f"How did we do? Re: {ticket.subject} [#{ticket.id}]"
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid("opsdesk.csat", domain=support_domain(settings))
    mail["Auto-Submitted"] = "auto-generated"
    latest = next((m.email_message_id for m in reversed(ticket.messages) if m.email_message_id), None)
    if latest:
        mail["In-Reply-To"] = f"<{latest}>"
        mail["References"] = f"<{latest}>"
    mail.set_content(text)
    mail.add_alternative(body, subtype="html")
    return mail


def send_pending_surveys(
    session_factory: sessionmaker[Session], *, clock: Clock, settings: Settings, limit: int = 200
) -> int:
    """Send every due survey; returns how many were sent. Safe to run concurrently (rows are claimed)."""
    if not settings.smtp_url:
        return 0
    target = parse_smtp_url(settings.smtp_url)
    with transaction(session_factory) as session:
        due = outbox.due_ids(session, CsatSurvey, pending=SurveyStatus.PENDING, now=clock.now(), limit=limit)
    sent = 0
    with SmtpConnection(target) as smtp:
        for survey_id in due:
            with transaction(session_factory) as session:
                survey: CsatSurvey | None = outbox.claim(
                    session, CsatSurvey, survey_id, pending=SurveyStatus.PENDING, now=clock.now()
                )
                if survey is None:
                    continue
                ticket = session.get_one(Ticket, survey.ticket_id)
                if ticket.status is Status.CLOSED:
                    survey.status, survey.skip_reason = SurveyStatus.SKIPPED, "closed"
                    continue
                if ticket.status is not Status.SOLVED:
                    session.delete(survey)  # reopened: the next solve schedules it again
                    continue
                mail = build_survey_email(survey, ticket, settings=settings, clock=clock)
                to = survey.to or ""
            try:
                smtp.send(mail, from_addr=settings.support_address, to_addrs=[to])
            except (smtplib.SMTPException, OSError) as exc:
                with transaction(session_factory) as session:
                    usable = outbox.record_failure(
                        session, CsatSurvey, survey_id, exc, retry_after=BACKOFF, failed=SurveyStatus.FAILED,
                        now=clock.now(),
                    )  # fmt: skip
                if not usable:
                    break
                continue
            with transaction(session_factory) as session:
                row = session.get_one(CsatSurvey, survey_id)
                row.status, row.sent_at, row.last_error = SurveyStatus.SENT, clock.now(), None
                append_event(
                    session,
                    subject_type="ticket",
                    subject_id=row.ticket_id,
                    type=SENT_EVENT,
                    at=clock.now(),
                    data={"survey": "csat", "scale": row.scale.value},
                )
            sent += 1
    return sent
