"""Relationship NPS runs hourly: contacts whose schedule says they are due get an invitation, and
pending invitations are mailed. Idempotent: the last invitation dates the next, and sending claims rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.core.settings import Settings
from opsdesk.success.voice.nps_mail import send_pending_invitations
from opsdesk.success.voice.nps_surveys import invite_due

SEND_NPS = "success.nps.send_surveys"


def _smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_url)


@job(SEND_NPS, every=timedelta(hours=1), enabled=_smtp_configured, max_attempts=3)
def send_nps(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        invite_due(session, clock=ctx.clock)
    send_pending_invitations(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)
