"""`opsdesk worker`: background job processes for a fleet (with ``OPSDESK_REDIS_URL``), and dead letters."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from opsdesk.cli.common import clock, console, fail

jobs_app = typer.Typer(help="Inspect background jobs.", no_args_is_help=True)


def worker(
    threads: int = typer.Option(1, min=1, max=64, help="Jobs run at the same time in this process."),
    burst: bool = typer.Option(False, "--burst", help="Run the jobs that are due now, then exit."),
    schedule: bool = typer.Option(
        True, "--schedule/--no-schedule", help="Also enqueue periodic jobs and re-queue expired leases."
    ),
) -> None:
    """Run background jobs until stopped (SIGINT or SIGTERM); jobs in hand are finished first."""
    from opsdesk.background import load_job_modules
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.jobs import BackgroundRunner, Worker, queue_from_settings
    from opsdesk.core.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    session_factory = make_session_factory(engine)
    load_job_modules()
    queue = queue_from_settings(settings, session_factory, clock)
    try:
        if burst:
            queue.maintain()
            ran = Worker(queue, session_factory=session_factory, clock=clock, settings=settings).drain()
            console.print(f"ran {ran} job{'' if ran == 1 else 's'}")
            return
        runner = BackgroundRunner(
            queue,
            session_factory=session_factory,
            clock=clock,
            settings=settings,
            workers=threads,
            schedule=schedule,
        )
        stopping = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        backend = "redis" if settings.redis_url else "database"
        console.print(f"worker started: {threads} thread{'' if threads == 1 else 's'} on the {backend} queue")
        runner.start()
        stopping.wait()
        console.print("stopping: finishing the jobs in hand")
        runner.stop()
    finally:
        queue.close()
        engine.dispose()


def dead(limit: int = typer.Option(50, min=1, help="How many to show, newest first.")) -> None:
    """List jobs that failed for the last time, with their error."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.jobs import queue_from_settings
    from opsdesk.core.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    queue = queue_from_settings(settings, make_session_factory(engine), clock)
    try:
        letters = queue.dead_letters(limit)
    finally:
        queue.close()
        engine.dispose()
    if not letters:
        console.print("no dead jobs")
    for letter in letters:
        console.print(
            f"{letter.at:%Y-%m-%d %H:%M:%S} {letter.name} id={letter.job_id} attempts={letter.attempts}"
            f"{' key=' + letter.key if letter.key else ''}: {letter.error}",
            markup=False,
            highlight=False,
        )
        for failure in letter.errors[:-1]:  # the last one is the error above
            console.print(
                f"    attempt {failure.attempt} at {failure.at:%Y-%m-%d %H:%M:%S}: {failure.error}",
                markup=False,
                highlight=False,
            )


def retry(job_id: str = typer.Argument(..., help="The id `opsdesk jobs dead` shows.")) -> None:
    """Queue a dead job again, with a fresh attempt count."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.jobs import queue_from_settings
    from opsdesk.core.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    queue = queue_from_settings(settings, make_session_factory(engine), clock)
    try:
        revived = queue.revive(job_id)
    finally:
        queue.close()
        engine.dispose()
    if not revived:
        raise fail(f"no dead job with id {job_id} (see `opsdesk jobs dead`)")
    console.print(f"queued job {job_id} again")


def register(app: typer.Typer) -> None:
    app.command()(worker)
    jobs_app.command("dead")(dead)
    jobs_app.command("retry")(retry)
    app.add_typer(jobs_app, name="jobs")
