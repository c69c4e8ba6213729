"""The phone channel's periodic work: wrap-ups the agent never closed end at the configured default."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.channels.phone.actions import complete_due_wrap_ups

COMPLETE_WRAP_UPS = "desk.phone_wrap_ups"


@job(COMPLETE_WRAP_UPS, every=timedelta(minutes=1), max_attempts=3)
def complete_wrap_ups(ctx: JobContext, payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        complete_due_wrap_ups(session, clock=ctx.clock)
