"""Waking the router when capacity frees up, work returns or new work arrives, so waiting work is assigned
within a second, not at the next timer tick alone."""

from __future__ import annotations

from sqlalchemy import exists
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.jobs import enqueue
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, RoutingSettings

DRAIN_JOB = "routing.drain"
# Requests within one such slice share one job (the queue drops a repeated key), so a burst of changes
# costs one routing pass; a change after the pass began falls in a later slice or the next tick.
SLICE_PER_SECOND = 4
# A new ticket is worth a pass only when routing is on and someone is online to take it; the test runs
# inside the job's INSERT, so a desk without routing (or at night) gets no jobs and every creation pays
# one statement either way. Built once: the queue caches its statement per condition.
_ARRIVAL_WORTH_A_PASS = exists().where(
    RoutingSettings.id == 1, RoutingSettings.enabled.is_(True)
) & exists().where(AgentPresence.status == PresenceStatus.ONLINE)


def _key(clock: Clock) -> str:
    return f"{DRAIN_JOB}:{int(clock.now().timestamp() * SLICE_PER_SECOND)}"


def request_drain(session: Session, *, clock: Clock) -> None:
    """Ask for a routing pass once the caller's transaction commits."""
    enqueue(session, DRAIN_JOB, {}, clock=clock, key=_key(clock))


def request_drain_for_arrival(session: Session, *, clock: Clock) -> None:
    """Ask for a routing pass for a ticket just created unassigned, if routing could assign it now."""
    enqueue(session, DRAIN_JOB, {}, clock=clock, key=_key(clock), only_if=_ARRIVAL_WORTH_A_PASS)
