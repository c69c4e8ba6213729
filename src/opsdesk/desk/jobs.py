"""The desk's own background work: closing solved tickets once the requester has had time to object,
and the follow-up of a chat take-over (see ``take_over``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.actions import auto_close_solved
from opsdesk.desk.take_over import FOLLOW_UP_JOB, follow_up

AUTO_CLOSE_NAME = "desk.auto_close"
AUTO_CLOSE_EVERY = timedelta(hours=1)


@job(AUTO_CLOSE_NAME, every=AUTO_CLOSE_EVERY)
def auto_close(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Idempotent: a redelivery finds the tickets already closed and closes nothing more."""
    with ctx.transaction() as session:
        auto_close_solved(session, clock=ctx.clock, days=ctx.settings.auto_close_days)


@job(FOLLOW_UP_JOB)
def take_over_follow_up(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Idempotent: the follow-up claims its effect in the transaction that makes it."""
    with ctx.transaction() as session:
        follow_up(session, payload, clock=ctx.clock)
