"""The periodic run of the time rules, every few minutes (not hourly): one transaction per batch of
tickets, so a long run never holds one big transaction and a crash loses at most one batch's work."""

from __future__ import annotations

from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.automation.time_rules import TIME_RULES_EVERY, run_time_rules

TIME_RULES_NAME = "desk.time_rules"


@job(TIME_RULES_NAME, every=TIME_RULES_EVERY)
def time_rules(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Idempotent: a once-per-ticket rule is remembered, and any other has made its conditions false."""
    after: int | None = 0
    while after is not None:
        with ctx.transaction() as session:
            _fired, after = run_time_rules(session, clock=ctx.clock, after_id=after)
