"""Background work in a live process: runner threads on both queues, Redis worker death, the services
`opsdesk serve` starts, and `opsdesk worker` / `opsdesk jobs dead` through the real command line."""

from __future__ import annotations

import smtplib
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opsdesk.cli import app as cli_app
from opsdesk.core.clock import FixedClock, SystemClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.jobs import BackgroundRunner, DatabaseQueue, JobContext, JobQueue, Registry, registry
from opsdesk.core.jobs.models import JobRow, JobState
from opsdesk.core.settings import Settings, get_settings
from opsdesk.desk.models import Ticket
from opsdesk.schema import metadata
from opsdesk.web import server
from tests.conftest import free_port
from tests.core.test_jobs import REDIS_URL, redis_unreachable

WAIT = 10.0  # generous bound for a thread to pick up work; a passing run takes milliseconds


@pytest.fixture(params=["database", "redis"])
def queue(
    request: pytest.FixtureRequest, session_factory: sessionmaker[Session], clock: FixedClock
) -> Iterator[JobQueue]:
    if request.param == "database":
        yield DatabaseQueue(session_factory, clock)
        return
    reason = redis_unreachable()
    if reason:
        print(reason)
        pytest.skip(reason)
    from opsdesk.core.jobs.redis_queue import RedisQueue

    prefix = f"opsdesk-test:{uuid.uuid4().hex}"
    redis_queue = RedisQueue(REDIS_URL, clock, prefix=prefix)
    yield redis_queue
    keys = list(redis_queue.redis.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_queue.redis.delete(*keys)
    redis_queue.close()


def test_the_runner_schedules_and_works_in_threads_and_stops_cleanly(
    queue: JobQueue, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    jobs = Registry()
    ran = {"t.ping": threading.Event(), "t.tick": threading.Event()}
    jobs.register("t.ping", lambda ctx, payload: ran["t.ping"].set())
    jobs.register("t.tick", lambda ctx, payload: ran["t.tick"].set(), every=60)
    runner = BackgroundRunner(
        queue,
        session_factory=session_factory,
        clock=clock,
        settings=settings,
        workers=2,
        jobs=jobs,
        interval=0.1,
    )
    runner.start()
    try:
        queue.enqueue("t.ping", {})
        assert ran["t.ping"].wait(WAIT), "the worker thread did not run the enqueued job"
        assert ran["t.tick"].wait(WAIT), "the scheduler thread did not enqueue the periodic job"
    finally:
        runner.stop(timeout=WAIT)
    assert not runner.running


def test_concurrent_workers_claim_each_job_once(
    queue: JobQueue, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    jobs = Registry()
    runs: list[int] = []
    lock = threading.Lock()
    all_done = threading.Event()

    def record(ctx: JobContext, payload: dict[str, Any]) -> None:
        with lock:
            runs.append(payload["n"])
            if len(runs) >= 40:
                all_done.set()

    jobs.register("t.many", record)
    for n in range(40):
        queue.enqueue("t.many", {"n": n})
    runner = BackgroundRunner(
        queue,
        session_factory=session_factory,
        clock=clock,
        settings=settings,
        workers=3,
        jobs=jobs,
        interval=0.1,
    )
    runner.start()
    try:
        assert all_done.wait(WAIT), f"only {len(runs)} of 40 jobs ran"
    finally:
        runner.stop(timeout=WAIT)
    assert sorted(runs) == list(range(40))


def test_redis_requeues_a_message_whose_worker_died_before_taking_its_lease(clock: FixedClock) -> None:
    reason = redis_unreachable()
    if reason:
        print(reason)
        pytest.skip(reason)
    from opsdesk.core.jobs.redis_queue import RedisQueue

    queue = RedisQueue(REDIS_URL, clock, prefix=f"opsdesk-test:{uuid.uuid4().hex}")
    r = queue.redis
    try:
        queue.enqueue("t.x", {"n": 1})
        # A worker moved the message into its processing list and died before recording the lease.
        r.sadd(queue._k("workers"), "ghost")
        r.lmove(queue._k("ready"), queue._k("processing", "ghost"), "RIGHT", "LEFT")
        queue.heartbeat("ghost")
        assert queue.maintain() == 0  # alive: its message is left alone
        r.delete(queue._k("alive", "ghost"))
        assert queue.maintain() == 1
        assert r.llen(queue._k("processing", "ghost")) == 0
        assert not r.sismember(queue._k("workers"), "ghost")
        delivery = queue.reserve("w2", wait=0)
        assert delivery is not None and delivery.payload == {"n": 1}
    finally:
        keys = list(r.scan_iter(match=f"{queue.prefix}:*"))
        if keys:
            r.delete(*keys)
        queue.close()


@pytest.fixture
def sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Engine]]:
    """A file database configured through the environment, as `opsdesk serve` and `opsdesk worker` see it."""
    monkeypatch.setenv("OPSDESK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPSDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPSDESK_REDIS_URL", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    metadata.create_all(engine)
    yield settings, engine
    engine.dispose()
    get_settings.cache_clear()


class Recorded(list[dict[str, Any]]):
    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()


@pytest.fixture
def global_job() -> Iterator[Recorded]:
    """A handler on the process-wide registry, as a domain's jobs module would add, removed afterwards."""
    seen = Recorded()

    def record(ctx: JobContext, payload: dict[str, Any]) -> None:
        seen.append(payload)
        seen.arrived.set()

    registry.register("test.record", record)
    yield seen
    registry.jobs.pop("test.record", None)


def background_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("opsdesk-")}


def test_serve_runs_the_scheduler_and_a_worker_beside_the_web_server_and_stops_them(
    sqlite_settings: tuple[Settings, Engine], global_job: Recorded
) -> None:
    settings, engine = sqlite_settings
    before = background_threads()
    stop = server.start_services(settings, host="127.0.0.1", smtp_port=None)
    try:
        assert {"opsdesk-scheduler", "opsdesk-worker-0"} <= background_threads()
        DatabaseQueue(make_session_factory(engine), SystemClock()).enqueue("test.record", {"via": "serve"})
        assert global_job.arrived.wait(WAIT), "the in-process worker did not run the job"
        assert global_job == [{"via": "serve"}]
    finally:
        stop()
    assert background_threads() == before


def test_serve_with_an_smtp_port_turns_mail_into_tickets(sqlite_settings: tuple[Settings, Engine]) -> None:
    """`opsdesk serve --smtp-port` runs the real listener on the service engine: mail sent with smtplib
    becomes a ticket, and stopping the services stops the listener."""
    settings, engine = sqlite_settings
    port = free_port()
    before = background_threads()
    stop = server.start_services(settings, host="127.0.0.1", smtp_port=port)
    try:
        mail = EmailMessage()
        mail["From"] = "Rita <rita@customer.example>"
        mail["To"] = settings.support_address
        mail["Subject"] = "Cannot download my statement"
        mail["Message-ID"] = "<serve-smtp-1@customer.example>"
        mail.set_content("The download button does nothing.")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(mail)
        with Session(engine) as session:
            subjects = session.scalars(select(Ticket.subject)).all()
        assert subjects == ["Cannot download my statement"]
    finally:
        stop()
    assert background_threads() == before
    with pytest.raises(OSError), smtplib.SMTP("127.0.0.1", port, timeout=2):
        pass


def test_a_fleet_serve_only_schedules(sqlite_settings: tuple[Settings, Engine]) -> None:
    reason = redis_unreachable()
    if reason:
        print(reason)
        pytest.skip(reason)
    import redis

    # The services use the default key prefix, so they get a database of their own, emptied afterwards.
    server_kwargs = redis.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs
    fleet_url = f"redis://{server_kwargs['host']}:{server_kwargs['port']}/14"
    settings = sqlite_settings[0].model_copy(update={"redis_url": fleet_url})
    before = background_threads()
    stop = server.start_services(settings, host="127.0.0.1", smtp_port=None)
    try:
        started = background_threads() - before
        assert started == {"opsdesk-scheduler"}  # `opsdesk worker` processes consume
    finally:
        stop()
        client = redis.Redis.from_url(fleet_url)
        keys = list(client.scan_iter(match="opsdesk:jobs:*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_worker_burst_runs_due_jobs_and_jobs_dead_lists_failures(
    sqlite_settings: tuple[Settings, Engine], global_job: Recorded
) -> None:
    _settings, engine = sqlite_settings
    queue = DatabaseQueue(make_session_factory(engine), SystemClock())
    queue.enqueue("test.record", {"n": 1})
    queue.enqueue("test.unknown", {"n": 2})
    runner = CliRunner()

    result = runner.invoke(cli_app, ["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "ran 2 jobs" in result.output
    assert global_job == [{"n": 1}]
    with Session(engine) as session:
        states = dict(session.execute(select(JobRow.name, JobRow.state)).all())
    assert states == {"test.record": JobState.DONE, "test.unknown": JobState.DEAD}

    result = runner.invoke(cli_app, ["jobs", "dead"])
    assert result.exit_code == 0, result.output
    assert "test.unknown" in result.output and "no handler is registered" in result.output

    [letter] = queue.dead_letters()
    result = runner.invoke(cli_app, ["jobs", "retry", letter.job_id])
    assert result.exit_code == 0 and "queued job" in result.output, result.output
    result = runner.invoke(cli_app, ["jobs", "retry", letter.job_id])
    assert result.exit_code == 2 and f"no dead job with id {letter.job_id}" in result.output
