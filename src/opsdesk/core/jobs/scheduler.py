"""Periodic jobs: each period is a numbered tick aligned to the epoch, enqueued under a key naming the tick,
so any number of schedulers (one per web process) enqueue each tick once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opsdesk.core.clock import Clock
from opsdesk.core.jobs.queue import Delivery, JobQueue
from opsdesk.core.jobs.registry import Registry, registry
from opsdesk.core.settings import Settings

TICK_KEY_PREFIX = "periodic:"


def tick_key(name: str, tick: int) -> str:
    return f"{TICK_KEY_PREFIX}{name}:{tick}"


def superseded(delivery: Delivery, *, jobs: Registry, now: datetime) -> bool:
    """A periodic tick two periods old has a newer tick queued behind it, so running it adds nothing.

    This keeps a worker that comes back after an outage from replaying every missed tick.
    """
    periodic = jobs.periodics.get(delivery.name)
    tick_at: Any = delivery.payload.get("tick_at")
    if (
        periodic is None
        or not (delivery.key or "").startswith(TICK_KEY_PREFIX)
        or not isinstance(tick_at, str)
    ):
        return False
    return now - datetime.fromisoformat(tick_at) >= 2 * periodic.every


class Scheduler:
    def __init__(
        self, queue: JobQueue, *, clock: Clock, settings: Settings, jobs: Registry = registry
    ) -> None:
        self.queue = queue
        self.clock = clock
        self.settings = settings
        self.jobs = jobs
        self._last_tick: dict[str, int] = {}

    def tick(self) -> list[str]:
        """Enqueue each enabled periodic job whose current tick is not queued yet; returns what it queued."""
        now = self.clock.now().timestamp()
        queued = []
        for periodic in self.jobs.enabled_periodics(self.settings):
            period = periodic.every.total_seconds()
            tick = int(now // period)
            if self._last_tick.get(periodic.name) == tick:
                continue
            tick_at = datetime.fromtimestamp(tick * period, UTC)
            if self.queue.enqueue(
                periodic.name, {"tick_at": tick_at.isoformat()}, key=tick_key(periodic.name, tick)
            ):
                queued.append(periodic.name)
            self._last_tick[periodic.name] = tick
        return queued
