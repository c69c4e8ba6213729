"""Health is rescored every six hours: history keeps one snapshot per day (the day's last run) and a band
turning red reaches the playbooks within hours. Idempotent: a redelivery replaces that day's snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.success.health.actions import score_accounts

SCORE_NAME = "success.health.score"
SCORE_EVERY = timedelta(hours=6)


@job(SCORE_NAME, every=SCORE_EVERY)
def score_all(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        score_accounts(session, as_of=ctx.clock.now().date(), clock=ctx.clock)
