"""The periodic SLA check: records breaches that fall due while nobody touches the ticket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.sla.tracking import check_breaches, refresh_unsolved

CHECK_NAME = "desk.sla.check_breaches"
REFRESH_NAME = "desk.sla.refresh_unsolved"
# Breaches are stamped with their due time whenever the check runs, so a minute's lag only delays the
# event, never moves the recorded due time.
CHECK_EVERY = timedelta(minutes=1)


@job(CHECK_NAME, every=CHECK_EVERY)
def check_sla_breaches(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Idempotent: breaches are derived from the event log, so a redelivery records nothing new."""
    with ctx.transaction() as session:
        check_breaches(session, clock=ctx.clock)


@job(REFRESH_NAME)
def refresh_unsolved_tickets(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """After a policy or hours change: recompute every ticket in flight, one short transaction per batch
    so the desk keeps working meanwhile. Idempotent like the check."""
    after: int | None = 0
    while after is not None:
        with ctx.transaction() as session:
            after = refresh_unsolved(session, clock=ctx.clock, after_id=after)
