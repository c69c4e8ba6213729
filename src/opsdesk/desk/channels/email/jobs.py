"""Background jobs of the email channel.

``desk.send_mail`` is enqueued by every queued reply (so it leaves within seconds) and also runs every
minute to pick up retries whose backoff has passed. ``desk.poll_mail`` reads the IMAP mailbox when one
is configured. Both are idempotent: sending claims each row, polling dedupes by Message-ID.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.imap_poll import poll_imap
from opsdesk.desk.channels.email.outbound import SEND_MAIL, send_pending

POLL_MAIL = "desk.poll_mail"


def _smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_url)


def _imap_configured(settings: Settings) -> bool:
    return bool(settings.imap_url)


@job(SEND_MAIL, every=timedelta(minutes=1), enabled=_smtp_configured, max_attempts=3)
def send_mail(ctx: JobContext, payload: dict[str, Any]) -> None:
    send_pending(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)


@job(POLL_MAIL, every=timedelta(minutes=1), enabled=_imap_configured, max_attempts=3)
def poll_mail(ctx: JobContext, payload: dict[str, Any]) -> None:
    poll_imap(
        ctx.session_factory,
        settings=ctx.settings,
        clock=ctx.clock,
        store=AttachmentStore.from_settings(ctx.settings),
    )
