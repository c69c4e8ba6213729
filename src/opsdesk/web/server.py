"""`opsdesk serve`: the web application, and the services that run beside it in the same process.

A service is a callable that starts something and returns the function that stops it. :func:`services`
lists them: the background jobs (scheduler always; a worker too unless a Redis queue is configured, where
`opsdesk worker` processes consume) and, with ``--smtp-port``, the inbound mail listener. They start before
the web server and stop after it, in reverse order, so a job or a message in hand is finished on shutdown.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from opsdesk.core.clock import SystemClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.jobs import BackgroundRunner, load_job_modules, queue_from_settings
from opsdesk.core.settings import Settings, get_settings
from opsdesk.web.app import create_app

Stop = Callable[[], None]
Service = Callable[[], Stop]

# The inbound SMTP listener: ``start(settings, host, port)`` returns its stop function. The email channel
# provides it; until it is assigned here, `opsdesk serve --smtp-port` refuses to start.
smtp_listener: Callable[[Settings, str, int], Stop] | None = None


def background_jobs(settings: Settings, *, run_worker: bool) -> Service:
    def start() -> Stop:
        engine = make_engine(settings.resolved_database_url())
        session_factory = make_session_factory(engine)
        clock = SystemClock()
        load_job_modules()
        queue = queue_from_settings(settings, session_factory, clock)
        runner = BackgroundRunner(
            queue,
            session_factory=session_factory,
            clock=clock,
            settings=settings,
            workers=1 if run_worker else 0,
        )
        runner.start()

        def stop() -> None:
            runner.stop()
            queue.close()
            engine.dispose()

        return stop

    return start


def services(settings: Settings, *, host: str, smtp_port: int | None) -> list[Service]:
    """What runs beside the web server in this process, in start order."""
    result = [background_jobs(settings, run_worker=not settings.redis_url)]
    if smtp_port is not None:
        listener = smtp_listener
        if listener is None:
            raise SystemExit("error: this build has no inbound SMTP listener (--smtp-port)")
        result.append(lambda: listener(settings, host, smtp_port))
    return result


@contextmanager
def _return_after_graceful_shutdown() -> Iterator[None]:
    """uvicorn re-raises the SIGINT/SIGTERM it shut down on; absorb it so the services stop afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def absorb(_signum: int, _frame: FrameType | None) -> None:
        """The server has already stopped for this signal."""

    previous = {sig: signal.signal(sig, absorb) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(*, host: str, port: int, smtp_port: int | None, workers: int) -> None:
    settings = get_settings()
    stops: list[Stop] = []
    try:
        for service in services(settings, host=host, smtp_port=smtp_port):
            stops.append(service())
        with _return_after_graceful_shutdown():
            if workers > 1:
                # Worker processes build their own application; background services stay in this one.
                uvicorn.run(
                    "opsdesk.web.app:create_app",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_level="info",
                    proxy_headers=True,
                )
            else:
                uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=True)
    finally:
        for stop in reversed(stops):
            stop()
