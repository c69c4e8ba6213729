"""Playbook emails leave OpsDesk: a step's rendered email is queued when its playbook fires (or, when the
step asks for approval, once the CSM or a lead approves it on the task's page) and the queue is sent
through the outbound SMTP server as a claimed drain, like the desk's replies and the NPS surveys
(success never imports the desk: the transport is core's).

The emails of one playbook episode to one address are one thread: each carries In-Reply-To and
References naming the earlier ones, and its Message-ID is kept, so a customer's reply that the desk
files as a ticket can be found by the Message-ID it answers and shown on the account's timeline."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import outbox
from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.jobs import enqueue
from opsdesk.core.models import IdentityKind, User
from opsdesk.core.normalise import normalise_identity
from opsdesk.core.settings import Settings
from opsdesk.core.smtp import SmtpConnection, parse_smtp_url
from opsdesk.success.playbooks.models import EmailStatus, Task, TaskEmail

log = logging.getLogger(__name__)
SEND_TASK_EMAILS = "success.playbooks.send_emails"
RETRY_AFTER = (timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6))
MAX_SUBJECT, MAX_BODY = 300, 20_000


def recipient(address: str) -> str:
    """A single plain address (no display name, no second address, no header injection)."""
    try:
        return normalise_identity(IdentityKind.EMAIL, address)
    except ValidationFailed:
        raise ValidationFailed(f"{address.strip()!r} is not an email address", field="email_to") from None


def live_email(task: Task) -> TaskEmail | None:
    """The task's email that is queued or sent (a failed one may be sent again)."""
    return next((e for e in task.emails if e.status is not EmailStatus.FAILED), None)


def queue_email(
    session: Session,
    *,
    task: Task,
    clock: Clock,
    actor: User | None,
    to: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> TaskEmail:
    """Queue the task's email, with the CSM's edits to recipient, subject and body. ``actor`` is who
    approved it (None: the playbook sent it on firing, no approval asked). A task sends one email."""
    if task.email_subject is None and subject is None:
        raise ValidationFailed("this task has no email to send", field="email_subject")
    if live_email(task) is not None:
        raise Conflict("this task's email is already queued or sent", field="email_to")
    address = recipient(to if to is not None else task.email_to or "")
    subject = (subject if subject is not None else task.email_subject or "").strip()
    body = body if body is not None else task.email_body or ""
    if not subject or len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        raise ValidationFailed(
            f"the subject is one line of 1-{MAX_SUBJECT} characters", field="email_subject"
        )
    if not body.strip() or len(body) > MAX_BODY:
        raise ValidationFailed(f"the body is 1-{MAX_BODY:,} characters", field="email_body")
    now = clock.now()
    task.email_to, task.email_subject, task.email_body, task.updated_at = address, subject, body, now
    owner = task.owner
    row = TaskEmail(
        task=task,
        account_id=task.account_id,
        episode_id=task.episode_id,
        to=address,
        subject=subject,
        body=body,
        from_name=(owner.name if owner else "Customer Success")[:200],
        references="",
        status=EmailStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        approved_by_id=actor.id if actor else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=task.account_id,
        type="playbook_email_approved" if actor is not None else "playbook_email_queued",
        at=now,
        actor=actor,
        data={"task_id": task.id, "email_id": row.id, "playbook_id": task.playbook_id, "subject": subject},
    )
    enqueue(session, SEND_TASK_EMAILS, clock=clock, key=f"{SEND_TASK_EMAILS}:{row.id}")
    return row


def _thread(session: Session, row: TaskEmail) -> tuple[str | None, str]:
    """In-Reply-To and References: the episode's earlier emails to the same address, oldest first."""
    if row.episode_id is None:
        return None, ""
    earlier = list(
        session.scalars(
            select(TaskEmail.rfc_message_id)
            .where(
                TaskEmail.episode_id == row.episode_id,
                TaskEmail.to == row.to,
                TaskEmail.id != row.id,
                TaskEmail.status == EmailStatus.SENT,
                TaskEmail.rfc_message_id.is_not(None),
            )
            .order_by(TaskEmail.sent_at, TaskEmail.id)
        )
    )
    if not earlier:
        return None, ""
    return earlier[-1], " ".join(f"<{m}>" for m in earlier)


def build_email(row: TaskEmail, *, settings: Settings, now_text: str) -> EmailMessage:
    mail = EmailMessage()
    # From the desk's address, so the customer's reply reaches the desk and is filed there.
    mail["From"] = formataddr((row.from_name, settings.support_address))
    mail["To"] = row.to
    mail["Subject"] = row.subject
    mail["Date"] = now_text
    mail["Message-ID"] = f"<{row.rfc_message_id}>"
    if row.in_reply_to:
        mail["In-Reply-To"] = f"<{row.in_reply_to}>"
    if row.references:
        mail["References"] = row.references
    mail.set_content(row.body)
    return mail


def _claim(session: Session, row_id: int, settings: Settings, clock: Clock) -> TaskEmail | None:
    now = clock.now()
    row: TaskEmail | None = outbox.claim(session, TaskEmail, row_id, pending=EmailStatus.PENDING, now=now)
    if row is not None and row.rfc_message_id is None:
        # Minted once and kept across retries, so a re-send after a crash is the same email.
        domain = settings.support_address.rsplit("@", 1)[-1]
        row.rfc_message_id = make_msgid(f"opsdesk.playbook.{row.task_id}", domain=domain).strip("<>")
        row.in_reply_to, row.references = _thread(session, row)
    return row


def send_pending_emails(
    session_factory: sessionmaker[Session], *, clock: Clock, settings: Settings, limit: int = 200
) -> int:
    """Send every due task email; returns how many were sent. Rows are claimed, so runs may overlap."""
    if not settings.smtp_url:
        return 0
    target = parse_smtp_url(settings.smtp_url)
    with transaction(session_factory) as session:
        due = outbox.due_ids(session, TaskEmail, pending=EmailStatus.PENDING, now=clock.now(), limit=limit)
    if not due:
        return 0
    sent = 0
    with SmtpConnection(target) as smtp:
        for row_id in due:
            with transaction(session_factory) as session:
                row = _claim(session, row_id, settings, clock)
                if row is None:
                    continue
                mail, to = build_email(row, settings=settings, now_text=format_datetime(clock.now())), row.to
            try:
                smtp.send(mail, from_addr=settings.support_address, to_addrs=[to])
            except (smtplib.SMTPException, OSError) as exc:
                log.warning("playbook email %s not sent: %s", row_id, type(exc).__name__)
                with transaction(session_factory) as session:
                    usable = outbox.record_failure(
                        session, TaskEmail, row_id, exc, retry_after=RETRY_AFTER, failed=EmailStatus.FAILED,
                        now=clock.now(),
                    )  # fmt: skip
                if not usable:
                    break
                continue
            with transaction(session_factory) as session:
                done = session.get_one(TaskEmail, row_id)
                done.status, done.sent_at, done.last_error = EmailStatus.SENT, clock.now(), None
                append_event(
                    session,
                    subject_type="account",
                    subject_id=done.account_id,
                    type="playbook_email_sent",
                    at=clock.now(),
                    data={"task_id": done.task_id, "email_id": done.id, "subject": done.subject},
                )
            sent += 1
    return sent
