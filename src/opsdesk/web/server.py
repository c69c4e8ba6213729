"""`opsdesk serve`: the web application, and the services that run beside it in the same process.

A service is a callable that starts something and returns the function that stops it. :func:`services`
lists them: the background jobs (the scheduler always; a worker too unless a Redis queue is configured,
where `opsdesk worker` processes consume) and, with ``--smtp-port``, the inbound mail listener. They start
before the one web server (with several, once their processes are spawned, so both start at once) and
stop after it, in reverse order, so work in hand is finished on shutdown.
With several workers the web server is :class:`opsdesk.web.workers.Supervisor`'s processes, and the
services still run once, here. What only a service needs is imported when it starts, so that a worker
process, which imports this module for :func:`served_app`, loads only what web requests need.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock, SystemClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

Stop = Callable[[], None]


@dataclass(frozen=True)
class ServiceContext:
    """What the services of one process share."""

    settings: Settings
    host: str
    session_factory: sessionmaker[Session]
    clock: Clock


Service = Callable[[ServiceContext], Stop]


def smtp_listener(context: ServiceContext, port: int) -> Stop:
    """The inbound mail listener, on this process's engine and clock."""
    from opsdesk.desk.attachments import AttachmentStore
    from opsdesk.desk.channels.email.smtp_listener import start_smtp_listener

    return start_smtp_listener(
        context.session_factory,
        host=context.host,
        port=port,
        clock=context.clock,
        settings=context.settings,
        store=AttachmentStore.from_settings(context.settings),
    )


def background_jobs(context: ServiceContext, *, run_worker: bool) -> Stop:
    from opsdesk.background import load_job_modules
    from opsdesk.core.jobs import BackgroundRunner, queue_from_settings

    load_job_modules()
    queue = queue_from_settings(context.settings, context.session_factory, context.clock)
    runner = BackgroundRunner(
        queue,
        session_factory=context.session_factory,
        clock=context.clock,
        settings=context.settings,
        workers=1 if run_worker else 0,
    )
    runner.start()

    def stop() -> None:
        runner.stop()
        queue.close()

    return stop


def services(settings: Settings, *, smtp_port: int | None) -> list[Service]:
    """What runs beside the web server in this process, in start order."""
    result: list[Service] = [partial(background_jobs, run_worker=not settings.redis_url)]
    if smtp_port is not None:
        result.append(partial(smtp_listener, port=smtp_port))
    return result


def start_services(settings: Settings, *, host: str, smtp_port: int | None) -> Stop:
    """Start every service on one engine; the returned function stops them in reverse order.

    Every table's mapper is configured first, here, before any service thread starts: SQLAlchemy
    configures all mappers at once on first use, and a job thread doing so while another thread is
    half-way through importing a models module fails for good ("One or more mappers failed to
    initialize"), which made every request of a single-process server answer 500."""
    from sqlalchemy.orm import configure_mappers

    import opsdesk.schema  # noqa: F401 - every models module, so that every mapper is known

    configure_mappers()
    planned = services(settings, smtp_port=smtp_port)
    engine = make_engine(settings.resolved_database_url())
    context = ServiceContext(settings, host, make_session_factory(engine), SystemClock())
    stops: list[Stop] = []

    def stop_all() -> None:
        for stop in reversed(stops):
            stop()
        engine.dispose()

    try:
        for service in planned:
            stops.append(service(context))
    except BaseException:
        stop_all()
        raise
    return stop_all


# Allocations per young collection (Python's default is 700), young collections per middle one, middle
# per full (10 is the default): as measured in served_app's docstring.
GC_THRESHOLDS = (50_000, 20, 10)


def served_app(settings: Settings | None = None) -> FastAPI:
    """The application as `opsdesk serve` runs it (each worker process builds its own; the parent of
    several workers never does, hence the import here). What exists once it is built (modules,
    routes, mappers, schemas) lives as long as the process, so it is moved out of the cyclic
    collector's reach: otherwise every full collection rescans it all, a pause of 100 ms and more that
    lands on whichever requests are in flight. The young generation is collected after far more
    allocations than Python's default (700) too: a request's or chat message's objects mostly die by
    reference counting within milliseconds, but every young collection promotes whatever is in flight
    at that moment, and the promoted objects bring on full collections of everything the process
    holds (2,000 chat sockets: a 300 ms pause every 20 s). benchmarks/chat.py, 2,000 clients at 200
    msg/s, idle machine: p99 358 ms with the default, 55 ms at 10,000, 37 ms at 50,000."""
    from opsdesk.web.app import create_app

    app = create_app(settings)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app


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


def default_workers(settings: Settings) -> int:
    """On PostgreSQL, two web processes per CPU: a Python process runs on one core at a time (the GIL)
    and waits on the database between statements, so one per core left the cores partly idle
    (desk_api benchmark: 17% idle). Since short requests run inline on each process's event loop, a
    process is busy for most of a request, and one more process than that only made them queue
    behind each other: 64 clients of desk_load on 2 cores, p99 1,026 ms and 161 req/s with 5
    processes, 671 ms and 214 req/s with 4 (829 ms, 171 req/s with 3). SQLite takes one writer at a
    time, so more processes would only queue on its lock."""
    if settings.resolved_database_url().startswith("sqlite"):
        return 1
    return 2 * (os.cpu_count() or 1)


def run(*, host: str, port: int, smtp_port: int | None, workers: int) -> None:
    settings = get_settings()
    if workers > 1:
        # Worker processes build their own application; the services stay in this one, started while
        # the workers import (their imports, not the services, are what a start waits for).
        from opsdesk.web.workers import Supervisor

        Supervisor(host=host, port=port, workers=workers).run(
            beside=partial(start_services, settings, host=host, smtp_port=smtp_port)
        )
        return
    app = served_app(settings)  # built before the services' threads start (see start_services)
    stop_services = start_services(settings, host=host, smtp_port=smtp_port)
    try:
        with _return_after_graceful_shutdown():
            uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
    finally:
        stop_services()
