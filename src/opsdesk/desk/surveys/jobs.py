"""The survey job: every five minutes, give newly due solved tickets their survey and send what is
pending. Idempotent: a ticket has one survey row, and sending claims each row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.core.settings import Settings
from opsdesk.desk.surveys.actions import schedule_surveys
from opsdesk.desk.surveys.mail import send_pending_surveys

SEND_SURVEYS = "desk.csat.send_surveys"


def _enabled(settings: Settings) -> bool:
    return settings.csat_enabled and bool(settings.smtp_url)


@job(SEND_SURVEYS, every=timedelta(minutes=5), enabled=_enabled, max_attempts=3)
def send_surveys(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        schedule_surveys(session, clock=ctx.clock, settings=ctx.settings)
    send_pending_surveys(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)
