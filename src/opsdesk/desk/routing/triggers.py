"""Waking the router when capacity frees up or work returns, so waiting work is assigned within a
second, not at the next timer tick alone."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.jobs import enqueue

DRAIN_JOB = "routing.drain"
# Requests within one such slice share one job (the queue drops a repeated key), so a burst of changes
# costs one routing pass; a change after the pass began falls in a later slice or the next tick.
SLICE_PER_SECOND = 4


def request_drain(session: Session, *, clock: Clock) -> None:
    """Ask for a routing pass once the caller's transaction commits."""
    slice_ = int(clock.now().timestamp() * SLICE_PER_SECOND)
    enqueue(session, DRAIN_JOB, {}, clock=clock, key=f"{DRAIN_JOB}:{slice_}")
