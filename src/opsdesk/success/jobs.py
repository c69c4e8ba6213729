"""Contract amendments dated in the future change an account's covered lives when their day comes: the
job looks every hour, so the account, its segment and its parents' segments follow within the hour.
Idempotent: a redelivery finds the lives already applied."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.success.contracts import apply_due_amendments

APPLY_AMENDMENTS_NAME = "success.contracts.apply_amendments"
APPLY_AMENDMENTS_EVERY = timedelta(hours=1)


@job(APPLY_AMENDMENTS_NAME, every=APPLY_AMENDMENTS_EVERY)
def apply_amendments(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        apply_due_amendments(session, as_of=ctx.clock.now().date(), clock=ctx.clock)
