"""Routing's background work: draining the queue (woken by presence and status changes, and a five-second
tick for new arrivals), turning idle agents away, and handing work over when a site's shift ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, job
from opsdesk.desk.routing.dispatch import drain
from opsdesk.desk.routing.handover import check_shifts
from opsdesk.desk.routing.presence import auto_away
from opsdesk.desk.routing.state import current_settings
from opsdesk.desk.routing.triggers import DRAIN_JOB

PRESENCE_SWEEP = "routing.presence_sweep"
HANDOVER_CHECK = "routing.handover_check"
# New arrivals are picked up at this tick; freed capacity and returned work wake the drain at once.
DRAIN_TICK = timedelta(seconds=5)


@job(DRAIN_JOB, every=DRAIN_TICK)
def drain_queue(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Idempotent: a second run finds the assigned tickets gone from the queue."""
    drain(ctx.session_factory, clock=ctx.clock)


@job(PRESENCE_SWEEP, every=timedelta(seconds=30))
def presence_sweep(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.transaction() as session:
        settings = current_settings(session)
        if settings is not None and settings.enabled:
            auto_away(session, clock=ctx.clock, idle=timedelta(seconds=settings.auto_away_seconds))


@job(HANDOVER_CHECK, every=timedelta(minutes=1))
def handover_check(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Idempotent: a site's shift end is acted on once, when its remembered state flips."""
    with ctx.transaction() as session:
        settings = current_settings(session)
        if settings is not None and settings.enabled:
            check_shifts(session, clock=ctx.clock)
