"""Tables of the database-backed job queue (the embedded default) and the handlers' idempotency ledger."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import BigId, enum_column


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class JobRow(Base):
    """One enqueued job. A running row goes back to the queue when its lease runs out or its worker's
    heartbeat (``heartbeat_at``) is older than WORKER_TTL, whichever comes first."""

    __tablename__ = "background_jobs"
    __table_args__ = (Index("ix_background_jobs_state_run_at", "state", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Unique so that two enqueues with one key (two schedulers, a replayed request) make one row.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[JobState] = mapped_column(enum_column(JobState, "job_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Every failed delivery: {"attempt", "at", "error"}, oldest first (see AttemptError).
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class JobEffect(Base):
    """An effect a handler has made, recorded in the effect's own transaction so a redelivery skips it."""

    __tablename__ = "job_effects"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    created_at: Mapped[datetime]
