"""The intraday re-forecast every 15 minutes (the page also computes it on demand). Idempotent: a
redelivery replaces the tick's rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job

REFORECAST_JOB = "workforce.intraday.reforecast"


@job(REFORECAST_JOB, every=timedelta(minutes=15), max_attempts=3)
def reforecast_day(ctx: JobContext, _payload: dict[str, Any]) -> None:
    from opsdesk.workforce.intraday.actions import record_reforecasts

    with ctx.transaction() as session:
        record_reforecasts(session, clock=ctx.clock)
