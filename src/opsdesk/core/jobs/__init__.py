"""Background jobs: named handlers, enqueued with a JSON payload, delivered at least once.

Domain packages register handlers (``@job("desk.send_mail")``, optionally ``every=60`` seconds) in a
``jobs.py`` module imported by :mod:`opsdesk.background`, and enqueue with :func:`enqueue` inside the
transaction that decides the work is needed. They never see the backend: the application database by
default (the job row commits with the caller's change), Redis when ``OPSDESK_REDIS_URL`` is set (the
message is pushed once the caller's transaction commits). Handlers must be idempotent; see
:func:`claim_effect`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, event, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.jobs.database_queue import (
    DatabaseQueue,
    add_job,
    add_job_if,
    claim_effect,
    notify_local_workers,
)
from opsdesk.core.jobs.queue import DeadLetter, Delivery, JobQueue, normalise_payload
from opsdesk.core.jobs.registry import JobContext, Registry, registry
from opsdesk.core.jobs.runtime import BackgroundRunner, queue_from_settings
from opsdesk.core.jobs.scheduler import Scheduler
from opsdesk.core.jobs.worker import Worker
from opsdesk.core.settings import get_settings

__all__ = [
    "BackgroundRunner",
    "DatabaseQueue",
    "DeadLetter",
    "Delivery",
    "JobContext",
    "JobQueue",
    "Registry",
    "Scheduler",
    "Worker",
    "claim_effect",
    "enqueue",
    "job",
    "queue_from_settings",
    "register",
    "registry",
    "use_queue",
]

log = logging.getLogger(__name__)
job = registry.job
register = registry.register

_PENDING = "opsdesk.jobs.pending"
_NOTIFY = "opsdesk.jobs.notify"
_queue: JobQueue | None = None
_redis_queues: dict[str, JobQueue] = {}


def use_queue(queue: JobQueue | None) -> None:
    """Send :func:`enqueue` to ``queue``; None goes back to choosing from the settings."""
    global _queue
    _queue = queue


def _queue_after_commit() -> JobQueue | None:
    """The queue to push to once the caller commits, or None to write the job in the caller's transaction."""
    if _queue is not None:
        return None if isinstance(_queue, DatabaseQueue) else _queue
    url = get_settings().redis_url
    if not url:
        return None
    if url not in _redis_queues:
        from opsdesk.core.clock import SystemClock
        from opsdesk.core.jobs.redis_queue import RedisQueue

        _redis_queues[url] = RedisQueue(url, SystemClock())
    return _redis_queues[url]


def enqueue(
    session: Session,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    clock: Clock,
    key: str | None = None,
    delay: timedelta | None = None,
    only_if: ColumnElement[bool] | None = None,
) -> None:
    """Ask for job ``name`` to run (after ``delay``) if and when ``session``'s transaction commits.

    ``key`` makes the request idempotent: a second request with the same key within a day is dropped,
    so replays and concurrent callers queue the work once. The payload must be JSON-serialisable.
    ``only_if`` (a SQL condition built once, e.g. an EXISTS) asks only when it holds in the caller's
    transaction; either way the request costs one statement.
    """
    now = clock.now()
    run_at = now + delay if delay else None
    target = _queue_after_commit()
    if target is None:
        if only_if is None:
            added = add_job(session, name, payload, now=now, key=key, run_at=run_at)
        else:
            added = add_job_if(session, only_if, name, payload, now=now, key=key, run_at=run_at)
        if added:
            session.info[_NOTIFY] = True
        return
    if only_if is not None and not session.scalar(select(only_if)):
        return
    session.connection()  # begin the transaction whose commit pushes the job
    session.info.setdefault(_PENDING, []).append((target, name, normalise_payload(payload), key, run_at))


@event.listens_for(Session, "after_commit")
def _push_after_commit(session: Session) -> None:
    for target, name, payload, key, run_at in session.info.pop(_PENDING, []):
        try:
            target.enqueue(name, payload, key=key, run_at=run_at)
        except Exception:
            # The change is committed and cannot be undone here; raising would only fail a caller whose
            # work succeeded. Work that must not be lost keeps its state in the database for a sweep.
            log.exception("job %s could not be queued after its transaction committed", name)
    if session.info.pop(_NOTIFY, False):
        notify_local_workers()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_NOTIFY, None)
