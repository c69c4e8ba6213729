"""Playbooks run every hour, so a renewal window, a red health band or a new escalation becomes CSM work
within the hour. Idempotent: each episode's key is claimed with its tasks, so a redelivered or
overlapping run fires nothing twice.

Playbook emails leave within seconds of being queued (each queued email asks for a send) and the send
also runs every minute to pick up retries whose backoff has passed; sending claims each row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.core.settings import Settings
from opsdesk.success.playbooks.emails import SEND_TASK_EMAILS, send_pending_emails
from opsdesk.success.playbooks.engine import run_playbooks

RUN_NAME = "success.playbooks.run"
RUN_EVERY = timedelta(hours=1)


def _smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_url)


@job(RUN_NAME, every=RUN_EVERY)
def run_all(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        run_playbooks(session, now=ctx.clock.now())


@job(SEND_TASK_EMAILS, every=timedelta(minutes=1), enabled=_smtp_configured, max_attempts=3)
def send_emails(ctx: JobContext, _payload: dict[str, Any]) -> None:
    send_pending_emails(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)
