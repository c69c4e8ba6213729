"""The webhooks' background work: every few seconds, enqueue deliveries for new events, then send
what is due. Idempotent under redelivery: the cursor and the claim make a second run a no-op."""

from __future__ import annotations

from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.sender import send_due

WEBHOOKS_JOB = "desk.webhooks"


@job(WEBHOOKS_JOB, every=5)
def run_webhooks(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        dispatch(session, clock=ctx.clock)
    send_due(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)
