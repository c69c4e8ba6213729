"""The contract every job queue backend keeps: at-least-once delivery with leases, retries, dead letters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

# A key is honoured once within this window: a second enqueue with it is dropped.
DEDUPE_WINDOW = timedelta(days=1)
# How long a reserved job stays invisible to other workers; a job not acked by then is delivered again.
VISIBILITY_TIMEOUT = timedelta(minutes=10)
# A worker that has not called heartbeat() for this long is taken for dead (kill -9, a lost machine) and
# the jobs it holds are delivered again, without waiting for their lease.
WORKER_TTL = timedelta(seconds=60)
# How often a worker busy with a job says it is alive: several beats fit in one WORKER_TTL.
HEARTBEAT_INTERVAL = WORKER_TTL / 4


def normalise_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Round-trip through JSON so a payload that would not survive a queue fails where it is enqueued."""
    try:
        result = json.loads(json.dumps(payload or {}, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job payload must be JSON-serialisable: {exc}") from None
    if not isinstance(result, dict):
        raise TypeError("job payload must be a dict")
    return result


@dataclass(frozen=True)
class Delivery:
    """One delivery of a job to a worker. ``attempt`` counts deliveries, including this one."""

    job_id: str
    name: str
    payload: dict[str, Any]
    key: str | None
    attempt: int
    worker_id: str
    handle: str


@dataclass(frozen=True)
class AttemptError:
    """Why one delivery of a job did not finish: its handler raised, or its worker went silent."""

    attempt: int
    at: datetime
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at": self.at.isoformat(), "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttemptError:
        return cls(int(data["attempt"]), datetime.fromisoformat(data["at"]), str(data["error"]))


def silent_worker_error(worker_id: str | None) -> str:
    return f"worker {worker_id or '?'} stopped before finishing (no heartbeat, or its lease ran out)"


@dataclass(frozen=True)
class DeadLetter:
    job_id: str
    name: str
    payload: dict[str, Any]
    key: str | None
    attempts: int
    error: str
    at: datetime
    errors: tuple[AttemptError, ...] = field(default=())  # every failed attempt, oldest first


class JobQueue(Protocol):
    def enqueue(
        self, name: str, payload: dict[str, Any], *, key: str | None = None, run_at: datetime | None = None
    ) -> bool:
        """Queue a job in its own transaction; False when ``key`` was already used within the window."""

    def reserve(self, worker_id: str, *, wait: float) -> Delivery | None:
        """Take the next due job, waiting up to ``wait`` seconds; it is leased to ``worker_id``."""

    def ack(self, delivery: Delivery) -> None:
        """The job is done; it is not delivered again."""

    def retry(self, delivery: Delivery, *, at: datetime, error: str) -> None:
        """The job failed; deliver it again at ``at``."""

    def bury(self, delivery: Delivery, *, error: str) -> None:
        """The job failed for the last time; keep it as a dead letter."""

    def maintain(self) -> int:
        """Re-queue jobs whose lease expired or whose worker missed its heartbeat, and release due
        delayed jobs; returns how many moved."""

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    def revive(self, job_id: str) -> bool:
        """Queue a dead letter again with a fresh attempt count; False when there is no such dead job."""

    def heartbeat(self, worker_id: str) -> None:
        """Tell the queue this worker is alive; a worker silent for WORKER_TTL loses the jobs it holds."""

    def close(self) -> None: ...
