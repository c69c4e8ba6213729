"""The social channel's background work: agent replies to the platforms' connectors.

Enqueued by every queued reply and run every minute for the retries whose backoff has passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.core.settings import Settings
from opsdesk.desk.channels.social.outbound import SEND_SOCIAL, send_pending_social


def _connectors_configured(settings: Settings) -> bool:
    return bool(settings.social_connectors)


@job(SEND_SOCIAL, every=timedelta(minutes=1), enabled=_connectors_configured, max_attempts=3)
def send_social(ctx: JobContext, payload: dict[str, Any]) -> None:
    send_pending_social(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)
