"""Named job handlers and periodic schedules. Domain packages register here; the backend never matters.

A handler is ``fn(ctx, payload)``. Delivery is at-least-once, so every handler must be idempotent: make
its effect conditional on state it reads in the same transaction, or record the effect with
:func:`opsdesk.core.jobs.claim_effect` in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.jobs.queue import DEDUPE_WINDOW
from opsdesk.core.settings import Settings


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload: where the data is, what time it is, how it is configured."""

    session_factory: sessionmaker[Session]
    clock: Clock
    settings: Settings
    name: str
    job_id: str
    attempt: int
    key: str | None

    def transaction(self) -> AbstractContextManager[Session]:
        return transaction(self.session_factory)


Handler = Callable[[JobContext, dict[str, Any]], None]


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: Handler
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)

    def delay_after(self, attempt: int) -> timedelta:
        """Exponential backoff: ``backoff`` after the first failure, doubling, capped at ``max_backoff``."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)


@dataclass(frozen=True)
class Periodic:
    """Enqueue ``name`` once per ``every`` (ticks aligned to the epoch), when ``enabled(settings)``."""

    name: str
    every: timedelta
    enabled: Callable[[Settings], bool] = _always


@dataclass
class Registry:
    jobs: dict[str, JobSpec] = field(default_factory=dict)
    periodics: dict[str, Periodic] = field(default_factory=dict)

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=1),
        every: timedelta | float | None = None,
        enabled: Callable[[Settings], bool] = _always,
    ) -> JobSpec:
        """Add a handler; with ``every`` (a timedelta or seconds) it is also enqueued on that period."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        existing = self.jobs.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job {name!r} is already registered to {existing.handler.__qualname__}")
        spec = JobSpec(name, handler, max_attempts=max_attempts, backoff=backoff, max_backoff=max_backoff)
        self.jobs[name] = spec
        if every is not None:
            period = every if isinstance(every, timedelta) else timedelta(seconds=every)
            if period < timedelta(seconds=1):
                raise ValueError("a periodic job runs at most once a second")
            if period > DEDUPE_WINDOW:
                raise ValueError("a periodic job runs at least daily; longer cycles check their own due date")
            self.periodics[name] = Periodic(name, period, enabled)
        return spec

    def job(self, name: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""

        def decorate(handler: Handler) -> Handler:
            self.register(name, handler, **options)
            return handler

        return decorate

    def spec(self, name: str) -> JobSpec | None:
        return self.jobs.get(name)

    def enabled_periodics(self, settings: Settings) -> Iterator[Periodic]:
        return (p for p in self.periodics.values() if p.enabled(settings))


registry = Registry()
