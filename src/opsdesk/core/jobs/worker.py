"""Runs delivered jobs: a success is acked, a failure retried with backoff, the last failure buried."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.jobs.queue import HEARTBEAT_INTERVAL, Delivery, JobQueue
from opsdesk.core.jobs.registry import JobContext, Registry, registry
from opsdesk.core.jobs.scheduler import superseded
from opsdesk.core.settings import Settings

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        settings: Settings,
        jobs: Registry = registry,
        worker_id: str | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL.total_seconds(),
    ) -> None:
        self.queue = queue
        self.session_factory = session_factory
        self.clock = clock
        self.settings = settings
        self.jobs = jobs
        self.worker_id = worker_id or new_worker_id()
        self.heartbeat_interval = heartbeat_interval

    def run_once(self, *, wait: float = 0) -> Delivery | None:
        """Reserve and run one job, waiting up to ``wait`` seconds for one; the delivery, or None."""
        self.queue.heartbeat(self.worker_id)
        delivery = self.queue.reserve(self.worker_id, wait=wait)
        if delivery is not None:
            with self._beating():
                self.process(delivery)
        return delivery

    @contextmanager
    def _beating(self) -> Iterator[None]:
        """Heartbeats from a side thread while a job runs, so a long job is not taken for a dead worker's
        and handed to another; a killed process stops beating and its job comes back within WORKER_TTL."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.heartbeat_interval):
                try:
                    self.queue.heartbeat(self.worker_id)
                except Exception:  # a queue outage: the job's own settle will report it
                    log.warning("job worker %s could not send its heartbeat", self.worker_id)

        thread = threading.Thread(
            target=beat, name=f"{threading.current_thread().name}-heartbeat", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def drain(self) -> int:
        """Run every job that is due now; how many ran."""
        count = 0
        while self.run_once() is not None:
            count += 1
        return count

    def process(self, delivery: Delivery) -> None:
        spec = self.jobs.spec(delivery.name)
        if spec is None:
            self.queue.bury(delivery, error=f"no handler is registered for job {delivery.name!r}")
            return
        if delivery.attempt > spec.max_attempts:
            # Workers died holding it (the reaper counted those deliveries): stop feeding it to them.
            error = f"delivered {delivery.attempt} times without finishing (max {spec.max_attempts})"
            self.queue.bury(delivery, error=error)
            return
        if superseded(delivery, jobs=self.jobs, now=self.clock.now()):
            self.queue.ack(delivery)
            return
        context = JobContext(
            session_factory=self.session_factory,
            clock=self.clock,
            settings=self.settings,
            name=delivery.name,
            job_id=delivery.job_id,
            attempt=delivery.attempt,
            key=delivery.key,
        )
        try:
            spec.handler(context, delivery.payload)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            # The payload and message may hold protected data: the log names the job only.
            log.warning("job %s (%s) failed on attempt %d", delivery.name, delivery.job_id, delivery.attempt)
            if delivery.attempt >= spec.max_attempts:
                self.queue.bury(delivery, error=error)
            else:
                retry_at = self.clock.now() + spec.delay_after(delivery.attempt)
                self.queue.retry(delivery, at=retry_at, error=error)
            return
        self.queue.ack(delivery)

    def run(self, stop: threading.Event, *, poll: float = 1.0) -> None:
        """Work until ``stop`` is set; a job in hand is finished first. Queue outages are waited out."""
        failing = False
        while not stop.is_set():
            try:
                self.run_once(wait=poll)
                failing = False
            except Exception:
                if not failing:  # once per outage, not once a poll
                    log.exception("job worker %s could not reach its queue; retrying", self.worker_id)
                failing = True
                stop.wait(poll)
