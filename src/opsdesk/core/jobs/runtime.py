"""Background work inside a process: a scheduler thread (periodic ticks, lease reaping, delayed releases)
and worker threads, started together and stopped cleanly."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.jobs.database_queue import DatabaseQueue, notify_local_workers
from opsdesk.core.jobs.queue import JobQueue
from opsdesk.core.jobs.registry import Registry, registry
from opsdesk.core.jobs.scheduler import Scheduler
from opsdesk.core.jobs.worker import Worker
from opsdesk.core.settings import Settings

log = logging.getLogger(__name__)


def queue_from_settings(settings: Settings, session_factory: sessionmaker[Session], clock: Clock) -> JobQueue:
    """Redis when ``OPSDESK_REDIS_URL`` is set, otherwise the application database."""
    if settings.redis_url:
        from opsdesk.core.jobs.redis_queue import RedisQueue

        return RedisQueue(settings.redis_url, clock)
    return DatabaseQueue(session_factory, clock)


class BackgroundRunner:
    def __init__(
        self,
        queue: JobQueue,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        settings: Settings,
        workers: int = 1,
        schedule: bool = True,
        jobs: Registry = registry,
        interval: float = 1.0,
    ) -> None:
        self.queue = queue
        self.interval = interval
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.scheduler = Scheduler(queue, clock=clock, settings=settings, jobs=jobs) if schedule else None
        self.workers = [
            Worker(queue, session_factory=session_factory, clock=clock, settings=settings, jobs=jobs)
            for _ in range(workers)
        ]

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("background runner already started")
        if self.scheduler is not None:
            scheduler = threading.Thread(target=self._schedule, name="opsdesk-scheduler", daemon=True)
            self._threads.append(scheduler)
        for n, worker in enumerate(self.workers):
            self._threads.append(
                threading.Thread(
                    target=worker.run,
                    args=(self._stop,),
                    kwargs={"poll": self.interval},
                    name=f"opsdesk-worker-{n}",
                    daemon=True,
                )
            )
        for thread in self._threads:
            thread.start()

    def _schedule(self) -> None:
        assert self.scheduler is not None
        failing = False
        while True:
            try:
                self.queue.maintain()
                self.scheduler.tick()
                failing = False
            except Exception:
                if not failing:  # once per outage, not once a second
                    log.exception("job scheduler could not reach its queue; retrying")
                failing = True
            if self._stop.wait(self.interval):
                return

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every thread to stop and wait for the jobs in hand; unfinished ones are redelivered later."""
        self._stop.set()
        notify_local_workers()  # wake idle database-queue workers now rather than at their next poll
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)
