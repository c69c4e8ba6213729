"""Shedding overload with quick 503s: a bound on the requests a web process works on at once.

On PostgreSQL short request work runs inline on each worker's event loop (web.deps.run_as_user), so
every request the process has started costs the loop its whole run, and a new request is looked at
only once the loop has run everything ready before it. Refusing by how late the loop runs (the first
design here) therefore answered the 503 itself as late as the queue it was meant to avoid: 256 keep-alive
clients on 2 cores got their 503s after a median 373 ms and a p99 of 1.5 s (benchmarks/desk_load.py).

So admission is decided when a request arrives, before any of its work starts, by a concurrency limit
of the kind Envoy and Netflix's concurrency-limits use: at most ``active`` requests run at once; the
next ones wait their turn in arrival order, asleep (a waiting request costs the loop nothing); and a
request whose expected wait (the requests ahead of it, times the measured pace at which the queue
moves) is longer than ``target`` is answered 503 with ``Retry-After`` at once. The loop then
never holds more than ``active`` requests' work ahead of a newcomer, so refusals come within a few
request times, admitted requests start within about ``target``, and clients that honour
``Retry-After`` step back. A waiter that still has not started after ``target`` (the estimate was
wrong, or a request ran long) is refused then.

WebSockets (chat), static assets and the health check are never refused or counted: they hold no
database work, and refusing a chat socket would only make the widget reconnect.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from opsdesk.web.errors import error_body

RETRY_AFTER_SECONDS = 1
EXEMPT_PREFIXES = ("/static/", "/healthz")
# The time a request takes until the first ones are measured: a short API request under load.
FIRST_ESTIMATE_SECONDS = 0.02
# Weight of each new measurement in the running mean of the queue's pace (about the last 20 turns).
SMOOTHING = 0.05


class Admission:
    """At most ``active`` requests run at once; the others wait in arrival order, and one that would
    wait longer than ``target`` seconds is refused (see the module docstring)."""

    def __init__(self, active: int, target: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.active = active
        self.target = target
        self.clock = clock
        self.running = 0
        self.turn_seconds = FIRST_ESTIMATE_SECONDS / active
        self._last_turn: float | None = None
        self.refused = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def expected_wait(self) -> float:
        """How long a request arriving now would wait to start: the queue ahead of it, at the pace the
        queue has actually been moving. That pace is measured, not derived from how long requests
        take: the loop also parses, refuses and answers, and other processes share the cores, so an
        estimate from request times alone let in waiters that then timed out, refused late."""
        return (len(self._waiters) + 1) * self.turn_seconds

    async def enter(self) -> float | None:
        """Admit the request (returns the time it started, for :meth:`leave`), or ``None`` to refuse it."""
        if self.running < self.active and not self._waiters:
            self.running += 1
            # The work starts on the loop's next pass, not in this step: requests that arrived together
            # are all decided first (their first steps run in one pass), so a refusal never waits
            # behind the inline work of the requests admitted with it.
            await asyncio.sleep(0)
            return self.clock()
        if self.expected_wait() > self.target:
            self.refused += 1
            return None
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.target):
                await waiter
        except BaseException as stopped:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self._hand_on()  # its turn came as it stopped waiting: pass the turn to the next one
            if isinstance(stopped, TimeoutError):
                self.refused += 1
                return None
            raise
        return self.clock()

    def leave(self, started: float) -> None:
        """The request has finished: start the next waiter in its place."""
        self._hand_on()

    def _measure_turn(self) -> None:
        """The time between two waiters' starts while the queue stood (an empty queue's idle time is
        no turn)."""
        now = self.clock()
        if self._last_turn is not None:
            self.turn_seconds += SMOOTHING * (now - self._last_turn - self.turn_seconds)
        self._last_turn = now if self._waiters else None

    def _hand_on(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # it runs in the place of the one that left
                self._measure_turn()
                return
        self.running -= 1


class LoadShedding:
    """Pure ASGI middleware: admits at most ``active`` requests of this process at once and answers
    503 with ``Retry-After`` to those that would wait longer than ``target_seconds`` to start.
    ``target_seconds`` 0 turns it off."""

    def __init__(self, app: ASGIApp, target_seconds: float, active: int = 8) -> None:
        self.app = app
        self.enabled = target_seconds > 0
        self.admission = Admission(active, target_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        started = await self.admission.enter()
        if started is None:
            await _busy(scope, send, self.admission)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.leave(started)


async def _busy(scope: Scope, send: Send, admission: Admission) -> None:
    message = (
        f"the server is busy: {admission.waiting} requests already wait to start; "
        f"retry after {RETRY_AFTER_SECONDS} s"
    )
    if scope["path"].startswith("/api/"):
        body = json.dumps(error_body("unavailable", message)).encode()
        content_type = b"application/json"
    else:
        body = f"<!doctype html><title>Busy</title><p>{message}.</p>".encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
