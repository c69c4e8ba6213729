"""Shedding overload with quick 503s, measured by how late the event loop runs.

On PostgreSQL short request work runs inline on each worker's event loop (web.deps.run_as_user), so
under overload requests queue in the loop itself: every request is answered, but seconds late, and the
connection gate (web.connection_gate) never sees a queue. What does see it is the loop's lag: a timer
due now runs only after every handle queued before it, so its lateness is the time a new request
waits before any of its work starts.

The rule is CoDel's (Nichols and Jacobson, "Controlling Queue Delay", 2012) applied to that lag: a
burst that the loop drains is fine, a *standing* queue is not. Requests are refused with 503 and
``Retry-After`` only once the lag has stayed above ``target`` for ``interval``, and admitted again as
soon as one measurement falls below it. A refusal costs well under a millisecond, and clients that
honour ``Retry-After`` step back, so the queue drains to the target instead of growing: admitted
requests are answered about ``target`` late at worst and refused ones at once, instead of everyone
seconds late.

WebSockets (chat), static assets and the health check are never refused: they hold no database work,
and refusing a chat socket would only make the widget reconnect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from opsdesk.web.errors import error_body

RETRY_AFTER_SECONDS = 1
TICK_SECONDS = 0.05
EXEMPT_PREFIXES = ("/static/", "/healthz")


class LoopLag:
    """How late this event loop runs a timer now, from a coroutine that sleeps ``tick`` seconds in a
    loop. Between ticks the lag is at least how overdue the pending tick already is, so a loop that is
    blocked right now is seen as late before the tick itself gets to run."""

    def __init__(self, tick: float = TICK_SECONDS, time: Callable[[], float] | None = None) -> None:
        self.tick = tick
        self._time = time
        self._measured = 0.0
        self._due: float | None = None
        self._task: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._time() if self._time is not None else asyncio.get_running_loop().time()

    def start(self) -> None:
        """Start ticking on the running loop (once; again if the loop that ran it has gone)."""
        if self._task is None or self._task.done():
            # Due from now, not from the task's first step: that step itself waits behind the queue.
            self._due = self.now() + self.tick
            self._task = asyncio.get_running_loop().create_task(self._run(), name="opsdesk-loop-lag")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._due - self.now()) if self._due is not None else self.tick)
            now = self.now()
            self._measured = max(0.0, now - self._due) if self._due is not None else 0.0
            self._due = now + self.tick

    def current(self) -> float:
        overdue = self.now() - self._due if self._due is not None else 0.0
        return max(self._measured, overdue)


class Shedder:
    """CoDel's decision on a lag: shed once the lag has stayed above ``target`` for ``interval``."""

    def __init__(self, target: float, interval: float) -> None:
        self.target = target
        self.interval = interval
        self._above_since: float | None = None
        self.shed_count = 0

    def should_shed(self, lag: float, now: float) -> bool:
        if lag <= self.target:
            self._above_since = None
            return False
        if self._above_since is None:
            # The lag was first seen over the target when the late timer became due, not now.
            self._above_since = now - lag + self.target
        return now - self._above_since >= self.interval


class LoadShedding:
    """Pure ASGI middleware: answers 503 with ``Retry-After`` while the event loop runs a standing
    queue longer than ``target_seconds`` (see the module docstring). ``target_seconds`` 0 turns it off."""

    def __init__(
        self,
        app: ASGIApp,
        target_seconds: float,
        interval_seconds: float | None = None,
        lag: LoopLag | None = None,
    ) -> None:
        self.app = app
        self.enabled = target_seconds > 0
        self.lag = lag or LoopLag()
        interval = target_seconds if interval_seconds is None else interval_seconds
        self.shedder = Shedder(target_seconds, interval)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        self.lag.start()
        lag = self.lag.current()
        if not self.shedder.should_shed(lag, self.lag.now()):
            await self.app(scope, receive, send)
            return
        self.shedder.shed_count += 1
        await _busy(scope, send, lag)


async def _busy(scope: Scope, send: Send, lag: float) -> None:
    message = (
        f"the server is busy: requests wait {lag:.1f} s before they start; "
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
