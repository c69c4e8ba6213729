"""Playbooks run every hour, so a renewal window, a red health band or a new escalation becomes CSM work
within the hour. Idempotent: each episode's key is claimed with its tasks, so a redelivered or
overlapping run fires nothing twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.success.playbooks.engine import run_playbooks

RUN_NAME = "success.playbooks.run"
RUN_EVERY = timedelta(hours=1)


@job(RUN_NAME, every=RUN_EVERY)
def run_all(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        run_playbooks(session, now=ctx.clock.now())
