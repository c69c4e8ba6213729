"""Periodic jobs: each period is a numbered tick aligned to the epoch, enqueued under a key naming the tick,
so any number of schedulers (one per web process) enqueue each tick once."""

from __future__ import annotations

from datetime import UTC, datetime

from opsdesk.core.clock import Clock
from opsdesk.core.jobs.queue import JobQueue
from opsdesk.core.jobs.registry import Registry, registry
from opsdesk.core.settings import Settings


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
                periodic.name, {"tick_at": tick_at.isoformat()}, key=f"periodic:{periodic.name}:{tick}"
            ):
                queued.append(periodic.name)
            self._last_tick[periodic.name] = tick
        return queued
