"""The webhooks' background work: every few seconds, enqueue deliveries for new events, then send
what is due. Idempotent under redelivery: the cursor and the claim make a second run a no-op."""

from __future__ import annotations

from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.outbound_webhooks.dispatcher import BATCH, CURSOR, dispatch
from opsdesk.desk.outbound_webhooks.models import WebhookCursor
from opsdesk.desk.outbound_webhooks.sender import send_due

WEBHOOKS_JOB = "desk.webhooks"
# Batches one run may read before it sends: a backlog drains at up to this many x BATCH events a run,
# each batch its own short transaction.
MAX_BATCHES = 20


@job(WEBHOOKS_JOB, every=5)
def run_webhooks(ctx: JobContext, _payload: dict[str, Any]) -> None:
    for _ in range(MAX_BATCHES):
        with ctx.transaction() as session:
            before = session.get(WebhookCursor, CURSOR)
            start = before.last_event_id if before is not None else None
            dispatch(session, clock=ctx.clock)
            after = session.get_one(WebhookCursor, CURSOR).last_event_id
        if start is None or after - start < BATCH:
            break
    send_due(ctx.session_factory, clock=ctx.clock, settings=ctx.settings)
