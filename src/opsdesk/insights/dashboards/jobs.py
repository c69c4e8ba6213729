"""The dashboards' snapshot job: every minute (so also right after a start), compute the default
period's views whose data has changed, so a reader's first view is a read of the stored panels."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, registry

log = logging.getLogger(__name__)


def refresh_dashboards(ctx: JobContext, _payload: dict[str, Any]) -> None:
    from opsdesk.insights.dashboards.snapshots import refresh

    done = refresh(ctx.session_factory, ctx.clock.now())
    if done:
        log.info("dashboards precomputed: %s", ", ".join(done))


# One attempt: the next minute's run does the same work, so a failed run need not be retried.
registry.register(
    "insights.refresh_dashboards", refresh_dashboards, every=timedelta(minutes=1), max_attempts=1
)
