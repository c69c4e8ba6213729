"""Admission of requests to the database, so that no request waits for a pool connection blocking.

A request takes a slot on the event loop before it opens its session and gives it back once the
session is closed. There are as many slots as the pool keeps connections, so a request that holds a
slot always finds a connection at once: work that runs inline on the event loop never blocks it in the
pool's checkout, where it would wait for connections that only the blocked loop could release (the
stall of issue 9). The pool's overflow stays a reserve for a request's second connection, such as an
audit row written in its own transaction. A request that finds no slot waits for one asynchronously,
for a bounded time, and is then refused with 503 and ``Retry-After`` instead of queueing without end.
When more requests already wait than a few per slot, a new one is refused at once: under overload
(256 clients on five processes) waiting its turn would only end in the same 503 seconds later, and
every waiter makes the ones behind it wait longer.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from opsdesk.core.errors import OpsDeskError

RETRY_AFTER_SECONDS = 1
# Requests that may wait for a slot, per slot, before new ones are refused without waiting: enough to
# absorb a burst (they are served within a few request times), not a backlog.
WAITING_PER_SLOT = 2


class DatabaseBusy(OpsDeskError):
    """No database connection came free in time; the client should retry shortly."""


class ConnectionGate:
    """At most ``slots`` requests of this process use the database at once; up to ``max_waiting`` others
    wait up to ``wait_seconds`` for a slot, in arrival order; any more are refused at once."""

    def __init__(self, slots: int, wait_seconds: float, max_waiting: int | None = None) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.max_waiting = WAITING_PER_SLOT * slots if max_waiting is None else max_waiting
        self._semaphore = asyncio.Semaphore(slots)
        self._held = 0
        self._waiting = 0

    @classmethod
    def for_engine(cls, engine: Engine, wait_seconds: float) -> ConnectionGate | None:
        """A gate as wide as the engine's pool, or none for pools that never make a caller wait
        (SQLite in memory keeps one connection for every thread)."""
        pool = engine.pool
        if not isinstance(pool, QueuePool):
            return None
        return cls(pool.size(), wait_seconds)

    @property
    def free(self) -> int:
        """Slots no request holds now."""
        return self.slots - self._held

    async def enter(self) -> None:
        """Take a slot, or raise :class:`DatabaseBusy` when none came free within ``wait_seconds``. A
        free slot is taken without suspending, so an idle process pays no timer for it."""
        if not self._semaphore.locked():
            await self._semaphore.acquire()
            self._held += 1
            return
        if self._waiting >= self.max_waiting:
            raise DatabaseBusy(
                f"the server is busy: {self._waiting} requests already wait for a database connection; "
                f"retry after {RETRY_AFTER_SECONDS} s"
            )
        self._waiting += 1
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._semaphore.acquire()
        except TimeoutError:
            raise DatabaseBusy(
                f"the server is busy: no database connection came free within {self.wait_seconds:g} s; "
                f"retry after {RETRY_AFTER_SECONDS} s"
            ) from None
        finally:
            self._waiting -= 1
        self._held += 1

    def leave(self) -> None:
        self._held -= 1
        self._semaphore.release()
