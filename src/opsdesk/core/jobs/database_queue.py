"""The job queue in the application database: the embedded default, and enough for one PostgreSQL fleet.

Enqueueing can join the caller's transaction (:func:`add_job`), so a job exists exactly when the change
that asked for it was committed. Workers claim rows with a conditional update (``SKIP LOCKED`` on
PostgreSQL) and hold them under a lease; :meth:`DatabaseQueue.maintain` re-queues expired leases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.jobs.models import JobEffect, JobRow, JobState
from opsdesk.core.jobs.queue import (
    DEDUPE_WINDOW,
    VISIBILITY_TIMEOUT,
    WORKER_TTL,
    AttemptError,
    DeadLetter,
    Delivery,
    normalise_payload,
    silent_worker_error,
)

# Set when a job is committed in this process, so an idle local worker need not wait out its poll.
_enqueued = threading.Event()


def notify_local_workers() -> None:
    _enqueued.set()


def _ignoring_duplicates(insert: Callable[[Table], Any], table: Table, columns: Sequence[str]) -> Executable:
    """INSERT ... ON CONFLICT DO NOTHING, its values bound by column name."""
    # RETURNING rather than rowcount: psycopg counts the implicit RETURNING of the primary key unreliably.
    return cast(
        Executable,
        insert(table)
        .values({name: bindparam(name) for name in columns})
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns),
    )


def _per_dialect(table: Table, columns: Sequence[str]) -> dict[str, Executable]:
    return {
        "postgresql": _ignoring_duplicates(postgresql.insert, table, columns),
        "sqlite": _ignoring_duplicates(sqlite.insert, table, columns),
    }


# Built once: constructing the statement (coercing each value, generating its cache key) cost more Python
# than running it (add_job went from about 0.29 to 0.12 ms of CPU on PostgreSQL).
_JOB_COLUMNS = ("name", "payload", "dedupe_key", "state", "attempts", "run_at", "created_at")
_ADD_JOB = _per_dialect(cast(Table, JobRow.__table__), _JOB_COLUMNS)
_CLAIM_EFFECT = _per_dialect(cast(Table, JobEffect.__table__), ("key", "created_at"))


def _insert_ignoring_duplicates(
    session: Session, statements: dict[str, Executable], values: dict[str, Any]
) -> bool:
    """Runs one of the statements above on the session's connection: no flush, since the job and effect
    rows depend on nothing pending. True when the row was written."""
    dialect = session.get_bind().dialect.name
    if dialect not in statements:
        raise RuntimeError(f"job queue not supported on {dialect}")
    return session.connection().execute(statements[dialect], values).first() is not None


def _rowcount(session: Session, stmt: Any) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount


def add_job(
    session: Session,
    name: str,
    payload: dict[str, Any] | None,
    *,
    now: datetime,
    key: str | None = None,
    run_at: datetime | None = None,
) -> bool:
    """Queue a job in ``session``'s transaction; False when a job with ``key`` is already recorded."""
    return _insert_ignoring_duplicates(
        session,
        _ADD_JOB,
        {
            "name": name,
            "payload": normalise_payload(payload),
            "dedupe_key": key,
            "state": JobState.QUEUED,
            "attempts": 0,
            "run_at": max(run_at or now, now),
            "created_at": now,
        },
    )


def add_job_if(
    session: Session,
    condition: ColumnElement[bool],
    name: str,
    payload: dict[str, Any] | None,
    *,
    now: datetime,
    key: str | None = None,
    run_at: datetime | None = None,
) -> bool:
    """:func:`add_job` only when ``condition`` (a SQL expression, e.g. an EXISTS) holds, tested in the
    same statement (INSERT ... SELECT ... WHERE), so a caller on a hot path pays one statement for the
    test and the job. Build ``condition`` once: the statement is cached per condition object."""
    dialect = session.get_bind().dialect.name
    statements = _CONDITIONAL.get(condition)
    if statements is None:
        statements = _CONDITIONAL[condition] = _per_dialect_if(cast(Table, JobRow.__table__), condition)
    if dialect not in statements:
        raise RuntimeError(f"job queue not supported on {dialect}")
    values = {
        "name": name,
        "payload": normalise_payload(payload),
        "dedupe_key": key,
        "state": JobState.QUEUED,
        "attempts": 0,
        "run_at": max(run_at or now, now),
        "created_at": now,
    }
    return session.connection().execute(statements[dialect], values).first() is not None


def _per_dialect_if(table: Table, condition: ColumnElement[bool]) -> dict[str, Executable]:
    columns = [table.c[name] for name in _JOB_COLUMNS]
    # Typed parameters, so the columns' own conversions (JSON, enum, datetime) apply as in a plain insert.
    source = select(*(bindparam(c.name, type_=c.type) for c in columns)).where(condition)
    return {
        dialect: cast(
            Executable,
            insert(table).from_select(columns, source).on_conflict_do_nothing().returning(*table.primary_key),
        )
        for dialect, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
    }


_CONDITIONAL: dict[ColumnElement[bool], dict[str, Executable]] = {}


def claim_effect(session: Session, key: str, *, clock: Clock) -> bool:
    """Record that the effect named ``key`` is being made in this transaction; False if it already was.

    Call it in the transaction that makes the effect: if that transaction rolls back, so does the claim,
    and a redelivered job makes the effect then. Concurrent claimants serialise on the primary key.
    """
    return _insert_ignoring_duplicates(session, _CLAIM_EFFECT, {"key": key, "created_at": clock.now()})


class DatabaseQueue:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        *,
        visibility_timeout: timedelta = VISIBILITY_TIMEOUT,
        dedupe_window: timedelta = DEDUPE_WINDOW,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.visibility_timeout = visibility_timeout
        self.dedupe_window = dedupe_window
        # Workers of this process holding a job: only their heartbeats need a write (idle polling must
        # never take SQLite's write lock).
        self._holding: dict[str, int] = {}
        self._holding_lock = threading.Lock()

    def _hold(self, worker_id: str, change: int) -> None:
        with self._holding_lock:
            count = self._holding.get(worker_id, 0) + change
            if count > 0:
                self._holding[worker_id] = count
            else:
                self._holding.pop(worker_id, None)

    def enqueue(
        self, name: str, payload: dict[str, Any], *, key: str | None = None, run_at: datetime | None = None
    ) -> bool:
        with transaction(self.session_factory) as session:
            added = add_job(session, name, payload, now=self.clock.now(), key=key, run_at=run_at)
        if added:
            notify_local_workers()
        return added

    def reserve(self, worker_id: str, *, wait: float) -> Delivery | None:
        delivery = self._claim(worker_id)
        if delivery is None and wait > 0:
            _enqueued.wait(wait)
            _enqueued.clear()
            delivery = self._claim(worker_id)
        return delivery

    def _due(self) -> bool:
        """A look without the write lock, so idle polling never blocks writers on SQLite."""
        with transaction(self.session_factory, write=False) as session:
            return (
                session.scalar(
                    select(JobRow.id)
                    .where(JobRow.state == JobState.QUEUED, JobRow.run_at <= self.clock.now())
                    .limit(1)
                )
                is not None
            )

    def _claim(self, worker_id: str) -> Delivery | None:
        if not self._due():
            return None
        with transaction(self.session_factory) as session:
            now = self.clock.now()
            row = session.execute(
                select(JobRow.id, JobRow.name, JobRow.payload, JobRow.dedupe_key, JobRow.attempts)
                .where(JobRow.state == JobState.QUEUED, JobRow.run_at <= now)
                .order_by(JobRow.run_at, JobRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            claimed = _rowcount(
                session,
                update(JobRow)
                .where(JobRow.id == row.id, JobRow.state == JobState.QUEUED)
                .values(
                    state=JobState.RUNNING,
                    attempts=row.attempts + 1,
                    lease_until=now + self.visibility_timeout,
                    heartbeat_at=now,
                    worker_id=worker_id,
                ),
            )
            if not claimed:  # another worker won the race on SQLite; the caller polls again
                return None
        self._hold(worker_id, +1)
        job_id = str(row.id)
        attempt = row.attempts + 1
        return Delivery(job_id, row.name, dict(row.payload), row.dedupe_key, attempt, worker_id, job_id)

    def _finish(self, delivery: Delivery, *, error: str | None = None, **values: Any) -> None:
        """Settle only the current delivery: once reaped and redelivered, the new delivery owns the job.
        A failure's ``error`` is added to the job's history of failed attempts."""
        self._hold(delivery.worker_id, -1)
        current = (
            JobRow.id == int(delivery.handle),
            JobRow.state == JobState.RUNNING,
            JobRow.worker_id == delivery.worker_id,
            JobRow.attempts == delivery.attempt,
        )
        with transaction(self.session_factory) as session:
            if error is not None:
                history = session.execute(select(JobRow.errors).where(*current).with_for_update()).first()
                if history is None:
                    return
                entry = AttemptError(delivery.attempt, self.clock.now(), error).as_json()
                values.update(last_error=error, errors=[*(history.errors or []), entry])
            session.execute(
                update(JobRow)
                .where(*current)
                .values(lease_until=None, heartbeat_at=None, worker_id=None, **values)
            )

    def ack(self, delivery: Delivery) -> None:
        self._finish(delivery, state=JobState.DONE, finished_at=self.clock.now())

    def retry(self, delivery: Delivery, *, at: datetime, error: str) -> None:
        self._finish(delivery, error=error, state=JobState.QUEUED, run_at=at)
        notify_local_workers()

    def bury(self, delivery: Delivery, *, error: str) -> None:
        self._finish(delivery, error=error, state=JobState.DEAD, finished_at=self.clock.now())

    def _requeue_silent(self, session: Session, now: datetime) -> int:
        """Running jobs whose lease ran out or whose worker stopped beating go back to the queue, each
        with the lost attempt in its error history."""
        rows = session.execute(
            select(JobRow.id, JobRow.attempts, JobRow.worker_id, JobRow.errors)
            .where(
                JobRow.state == JobState.RUNNING,
                (JobRow.lease_until < now) | (JobRow.heartbeat_at < now - WORKER_TTL),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            entry = AttemptError(row.attempts, now, silent_worker_error(row.worker_id)).as_json()
            session.execute(
                update(JobRow)
                .where(JobRow.id == row.id, JobRow.state == JobState.RUNNING)
                .values(
                    state=JobState.QUEUED,
                    lease_until=None,
                    heartbeat_at=None,
                    worker_id=None,
                    last_error=entry["error"],
                    errors=[*(row.errors or []), entry],
                )
            )
        return len(rows)

    def maintain(self) -> int:
        now = self.clock.now()
        expired = now - self.dedupe_window
        with transaction(self.session_factory) as session:
            requeued = self._requeue_silent(session, now)
            # Finished jobs keep their key for the dedupe window, then make way for a new job with it.
            session.execute(delete(JobRow).where(JobRow.state == JobState.DONE, JobRow.finished_at < expired))
            session.execute(
                update(JobRow)
                .where(JobRow.state == JobState.DEAD, JobRow.finished_at < expired)
                .values(dedupe_key=None)
            )
        if requeued:
            notify_local_workers()
        return int(requeued)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with transaction(self.session_factory, write=False) as session:
            rows = session.scalars(
                select(JobRow)
                .where(JobRow.state == JobState.DEAD)
                .order_by(JobRow.finished_at.desc(), JobRow.id.desc())
                .limit(limit)
            ).all()
            return [
                DeadLetter(
                    job_id=str(r.id),
                    name=r.name,
                    payload=r.payload,
                    key=r.dedupe_key,
                    attempts=r.attempts,
                    error=r.last_error or "",
                    at=r.finished_at or r.created_at,
                    errors=tuple(AttemptError.from_json(e) for e in r.errors or []),
                )
                for r in rows
            ]

    def revive(self, job_id: str) -> bool:
        if not job_id.isdigit():
            return False
        with transaction(self.session_factory) as session:
            revived = _rowcount(
                session,
                update(JobRow)
                .where(JobRow.id == int(job_id), JobRow.state == JobState.DEAD)
                .values(state=JobState.QUEUED, attempts=0, run_at=self.clock.now(), finished_at=None),
            )
        if revived:
            notify_local_workers()
        return bool(revived)

    def heartbeat(self, worker_id: str) -> None:
        """Stamps the jobs this worker holds; a worker holding none writes nothing."""
        with self._holding_lock:
            holding = worker_id in self._holding
        if not holding:
            return
        with transaction(self.session_factory) as session:
            session.execute(
                update(JobRow)
                .where(JobRow.state == JobState.RUNNING, JobRow.worker_id == worker_id)
                .values(heartbeat_at=self.clock.now())
            )

    def close(self) -> None:
        """The session factory belongs to the caller."""
