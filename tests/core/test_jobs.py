"""The job queue contract, on the database queue and on a real Redis: delivery, dedupe, retries with
backoff, dead letters, redelivery after a worker dies, idempotent handlers, periodic ticks."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import jobs
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.jobs import DatabaseQueue, JobContext, JobQueue, Registry, Scheduler, Worker, claim_effect
from opsdesk.core.jobs.models import JobRow, JobState
from opsdesk.core.jobs.queue import VISIBILITY_TIMEOUT, WORKER_TTL, silent_worker_error
from opsdesk.core.models import Event
from opsdesk.core.settings import Settings

REDIS_URL = os.environ.get("OPSDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_unreachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis tests skipped: {REDIS_URL} is unreachable ({exc})"
    return None


QueueMaker = Callable[[], JobQueue]


@pytest.fixture(params=["database", "redis"])
def make_queue(
    request: pytest.FixtureRequest, session_factory: sessionmaker[Session], clock: FixedClock
) -> Iterator[QueueMaker]:
    """Builds queue clients that share one store, as separate processes would."""
    if request.param == "database":
        yield lambda: DatabaseQueue(session_factory, clock)
        return
    reason = redis_unreachable()
    if reason:
        print(reason)
        pytest.skip(reason)
    from opsdesk.core.jobs.redis_queue import RedisQueue

    prefix = f"opsdesk-test:{uuid.uuid4().hex}"
    made: list[RedisQueue] = []

    def make() -> JobQueue:
        made.append(RedisQueue(REDIS_URL, clock, prefix=prefix))
        return made[-1]

    yield make
    keys = list(made[0].redis.scan_iter(match=f"{prefix}:*"))
    if keys:
        made[0].redis.delete(*keys)
    for queue in made:
        queue.close()


@pytest.fixture
def queue(make_queue: QueueMaker) -> JobQueue:
    return make_queue()


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def worker_for(
    session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings, registry: Registry
) -> Callable[[JobQueue, str], Worker]:
    def make(queue: JobQueue, worker_id: str = "w1") -> Worker:
        return Worker(
            queue,
            session_factory=session_factory,
            clock=clock,
            settings=settings,
            jobs=registry,
            worker_id=worker_id,
        )

    return make


def test_a_job_is_delivered_with_its_payload_and_not_again_once_acked(
    queue: JobQueue, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    seen: list[tuple[dict[str, Any], int]] = []
    registry.register("t.echo", lambda ctx, payload: seen.append((payload, ctx.attempt)))
    assert queue.enqueue("t.echo", {"n": 1, "who": ["a", "b"]})
    worker = worker_for(queue)

    delivery = worker.run_once()
    assert delivery is not None and delivery.name == "t.echo"
    assert seen == [({"n": 1, "who": ["a", "b"]}, 1)]
    assert worker.run_once() is None
    clock.advance(VISIBILITY_TIMEOUT * 2)
    queue.maintain()
    assert worker.run_once() is None
    assert seen == [({"n": 1, "who": ["a", "b"]}, 1)]


def test_a_dedupe_key_queues_the_work_once(
    queue: JobQueue, registry: Registry, worker_for: Callable[..., Worker]
) -> None:
    seen: list[str | None] = []
    registry.register("t.once", lambda ctx, payload: seen.append(ctx.key))
    assert queue.enqueue("t.once", {}, key="ticket:7:welcome") is True
    assert queue.enqueue("t.once", {}, key="ticket:7:welcome") is False
    assert queue.enqueue("t.once", {}, key="ticket:8:welcome") is True
    assert worker_for(queue).drain() == 2
    assert queue.enqueue("t.once", {}, key="ticket:7:welcome") is False  # still inside the window
    assert sorted(k or "" for k in seen) == ["ticket:7:welcome", "ticket:8:welcome"]


def test_a_delayed_job_waits_for_its_time(
    queue: JobQueue, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    registry.register("t.later", lambda ctx, payload: None)
    queue.enqueue("t.later", {}, run_at=clock.now() + timedelta(minutes=5))
    worker = worker_for(queue)
    queue.maintain()
    assert worker.run_once() is None
    clock.advance(timedelta(minutes=5, seconds=1))
    queue.maintain()
    assert worker.run_once() is not None


def test_a_failing_job_is_retried_with_exponential_backoff_until_it_succeeds(
    queue: JobQueue, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    attempts: list[int] = []

    def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("smtp down")

    registry.register("t.flaky", flaky, backoff=timedelta(seconds=30))
    queue.enqueue("t.flaky", {})
    worker = worker_for(queue)

    def step(seconds: float) -> bool:
        clock.advance(timedelta(seconds=seconds))
        queue.maintain()
        return worker.run_once() is not None

    assert step(0) and attempts == [1]
    assert not step(29)  # first retry after 30 s
    assert step(2) and attempts == [1, 2]
    assert not step(59)  # second retry after 60 s
    assert step(2) and attempts == [1, 2, 3]
    assert not step(3600)  # succeeded: gone for good
    assert queue.dead_letters() == []


def test_the_last_failure_is_kept_as_a_dead_letter(
    queue: JobQueue, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    def broken(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise ValueError(f"bad ticket {payload['ticket']}")

    registry.register("t.broken", broken, max_attempts=2, backoff=timedelta(seconds=10))
    queue.enqueue("t.broken", {"ticket": 42}, key="k42")
    worker = worker_for(queue)
    assert worker.run_once() is not None
    clock.advance(timedelta(seconds=11))
    queue.maintain()
    assert worker.run_once() is not None
    clock.advance(timedelta(days=1))
    queue.maintain()
    assert worker.run_once() is None

    [letter] = queue.dead_letters()
    assert (letter.name, letter.payload, letter.key) == ("t.broken", {"ticket": 42}, "k42")
    assert letter.attempts == 2
    assert letter.error == "ValueError: bad ticket 42"

    # An operator fixes the cause and sends it round again, with a fresh attempt count.
    assert queue.revive("no-such-job") is False
    assert queue.revive(letter.job_id) is True
    assert queue.revive(letter.job_id) is False
    assert queue.dead_letters() == []
    again = worker.run_once()
    assert again is not None and again.attempt == 1 and again.payload == {"ticket": 42}


def test_a_job_nobody_handles_is_buried_not_retried(
    queue: JobQueue, worker_for: Callable[..., Worker]
) -> None:
    queue.enqueue("t.nobody", {})
    assert worker_for(queue).run_once() is not None
    [letter] = queue.dead_letters()
    assert "no handler" in letter.error


def test_a_job_held_by_a_dead_worker_is_delivered_again_after_its_lease(
    make_queue: QueueMaker, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    """At-least-once: the first worker reserves the job and dies (never acks); the reaper hands it on."""
    seen: list[tuple[str, int]] = []
    registry.register("t.work", lambda ctx, payload: seen.append((ctx.job_id, ctx.attempt)))
    first, second = make_queue(), make_queue()
    first.enqueue("t.work", {"x": 1})
    held = first.reserve("dying-worker", wait=0)
    assert held is not None and held.attempt == 1

    survivor = worker_for(second, "w2")
    assert second.maintain() == 0
    assert survivor.run_once() is None  # leased: invisible to others
    clock.advance(VISIBILITY_TIMEOUT + timedelta(seconds=1))
    assert second.maintain() == 1
    again = survivor.run_once()
    assert again is not None and again.payload == {"x": 1}
    assert seen == [(held.job_id, 2)]
    first.ack(held)  # a late ack from the first delivery changes nothing
    clock.advance(VISIBILITY_TIMEOUT * 2)
    second.maintain()
    assert survivor.run_once() is None


def test_a_job_redelivered_too_often_is_buried(
    make_queue: QueueMaker, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    registry.register("t.poison", lambda ctx, payload: None, max_attempts=1)
    queue = make_queue()
    queue.enqueue("t.poison", {})
    assert queue.reserve("crashed", wait=0) is not None
    clock.advance(VISIBILITY_TIMEOUT + timedelta(seconds=1))
    queue.maintain()
    assert worker_for(queue).run_once() is not None
    [letter] = queue.dead_letters()
    assert "delivered 2 times" in letter.error


def welcome(ctx: JobContext, payload: dict[str, Any]) -> None:
    """An idempotent handler: the effect and its claim commit together."""
    with ctx.transaction() as session:
        if claim_effect(session, f"welcome:{payload['user']}", clock=ctx.clock):
            append_event(
                session, subject_type="user", subject_id=payload["user"], type="welcomed", at=ctx.clock.now()
            )


def test_an_idempotent_handler_has_its_effect_once_when_delivered_twice(
    make_queue: QueueMaker,
    registry: Registry,
    worker_for: Callable[..., Worker],
    clock: FixedClock,
    session_factory: sessionmaker[Session],
    settings: Settings,
    db: Session,
) -> None:
    registry.register("t.welcome", welcome)
    first, second = make_queue(), make_queue()
    first.enqueue("t.welcome", {"user": 5})
    # The first worker runs the handler to its commit, then dies before it can ack.
    held = first.reserve("dying-worker", wait=0)
    assert held is not None
    context = JobContext(session_factory, clock, settings, held.name, held.job_id, held.attempt, held.key)
    welcome(context, held.payload)
    clock.advance(VISIBILITY_TIMEOUT + timedelta(seconds=1))
    second.maintain()
    assert worker_for(second, "w2").run_once() is not None  # delivered again ...
    # ... and a separate request for the same effect is absorbed too.
    second.enqueue("t.welcome", {"user": 5})
    second.enqueue("t.welcome", {"user": 6})
    assert worker_for(second, "w2").drain() == 2

    welcomed = db.scalars(select(Event.subject_id).where(Event.type == "welcomed").order_by(Event.id)).all()
    assert welcomed == [5, 6]


def test_a_periodic_job_fires_once_per_tick_across_schedulers(
    make_queue: QueueMaker,
    registry: Registry,
    worker_for: Callable[..., Worker],
    clock: FixedClock,
    settings: Settings,
) -> None:
    ticks: list[str] = []
    registry.register("t.sla", lambda ctx, payload: ticks.append(payload["tick_at"]), every=60)
    registry.register("t.mail_poll", lambda ctx, payload: None, every=60, enabled=lambda s: bool(s.imap_url))
    one = Scheduler(make_queue(), clock=clock, settings=settings, jobs=registry)
    two = Scheduler(make_queue(), clock=clock, settings=settings, jobs=registry)
    worker = worker_for(make_queue())

    assert one.tick() == ["t.sla"]  # clock at 09:00:00, the start of a tick
    assert two.tick() == []
    clock.advance(timedelta(seconds=59))
    assert two.tick() == [] and one.tick() == []
    clock.advance(timedelta(seconds=1))
    assert two.tick() == ["t.sla"]
    assert one.tick() == []
    assert worker.drain() == 2
    assert ticks == ["2026-03-02T09:00:00+00:00", "2026-03-02T09:01:00+00:00"]


def test_a_worker_back_from_an_outage_runs_the_latest_ticks_not_every_missed_one(
    queue: JobQueue,
    registry: Registry,
    worker_for: Callable[..., Worker],
    clock: FixedClock,
    settings: Settings,
) -> None:
    ticks: list[str] = []
    registry.register("t.sla", lambda ctx, payload: ticks.append(payload["tick_at"][11:16]), every=60)
    scheduler = Scheduler(queue, clock=clock, settings=settings, jobs=registry)
    for _minute in range(5):  # nobody consumes for five minutes
        scheduler.tick()
        clock.advance(timedelta(seconds=60))
    clock.advance(timedelta(seconds=-1))
    assert worker_for(queue).drain() == 5
    assert ticks == ["09:03", "09:04"]


def test_enqueue_joins_the_callers_transaction(
    queue: JobQueue,
    registry: Registry,
    worker_for: Callable[..., Worker],
    clock: FixedClock,
    session_factory: sessionmaker[Session],
) -> None:
    """A rolled-back change queues nothing; a committed one queues its job (on Redis, after the commit)."""
    seen: list[dict[str, Any]] = []
    registry.register("t.after", lambda ctx, payload: seen.append(payload))
    worker = worker_for(queue)
    jobs.use_queue(queue)
    try:
        with session_factory() as session:
            jobs.enqueue(session, "t.after", {"n": 1}, clock=clock)
            session.rollback()
            jobs.enqueue(session, "t.after", {"n": 2}, clock=clock, key="two")
            jobs.enqueue(session, "t.after", {"n": 2}, clock=clock, key="two")
            assert worker.run_once() is None  # not committed yet
            session.commit()
    finally:
        jobs.use_queue(None)
    assert worker.drain() == 1
    assert seen == [{"n": 2}]


def test_a_redis_outage_after_commit_is_logged_not_raised_at_a_caller_whose_change_committed(
    clock: FixedClock, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture, db: Session
) -> None:
    from opsdesk.core.jobs.redis_queue import RedisQueue
    from tests.conftest import free_port

    unreachable = RedisQueue(f"redis://127.0.0.1:{free_port()}/0", clock)
    jobs.use_queue(unreachable)
    try:
        with session_factory() as session:
            append_event(session, subject_type="user", subject_id=1, type="changed", at=clock.now())
            jobs.enqueue(session, "t.after", {}, clock=clock)
            session.commit()
    finally:
        jobs.use_queue(None)
        unreachable.close()
    assert db.scalar(select(func.count()).select_from(Event)) == 1
    assert "job t.after could not be queued after its transaction committed" in caplog.text


def test_the_database_queue_keeps_finished_jobs_for_the_dedupe_window_only(
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    registry: Registry,
    worker_for: Callable[..., Worker],
    db: Session,
) -> None:
    registry.register("t.keep", lambda ctx, payload: None)
    queue = DatabaseQueue(session_factory, clock)
    queue.enqueue("t.keep", {}, key="k")
    worker_for(queue).drain()
    assert db.scalars(select(JobRow.state)).all() == [JobState.DONE]
    clock.advance(timedelta(days=1, seconds=1))
    queue.maintain()
    assert db.scalar(select(func.count()).select_from(JobRow)) == 0
    assert queue.enqueue("t.keep", {}, key="k") is True


def test_payloads_must_survive_json(queue: JobQueue, session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(TypeError, match="JSON"):
        queue.enqueue("t.x", {"at": object()})
    with pytest.raises(TypeError, match="JSON"):
        queue.enqueue("t.x", {"ratio": float("nan")})


def test_registration_rejects_clashes_and_impossible_periods(registry: Registry) -> None:
    def handler(ctx: JobContext, payload: dict[str, Any]) -> None:
        return None

    registry.register("t.a", handler)
    registry.register("t.a", handler)  # importing a module twice is harmless
    with pytest.raises(ValueError, match="already registered"):
        registry.register("t.a", lambda ctx, payload: None)
    with pytest.raises(ValueError, match="once a second"):
        registry.register("t.b", handler, every=0.5)
    with pytest.raises(ValueError, match="at least daily"):
        registry.register("t.c", handler, every=timedelta(days=7))
    with pytest.raises(ValueError, match="max_attempts"):
        registry.register("t.d", handler, max_attempts=0)


def test_backoff_doubles_up_to_its_cap(registry: Registry) -> None:
    spec = registry.register(
        "t.e", lambda ctx, p: None, backoff=timedelta(seconds=30), max_backoff=timedelta(minutes=3)
    )
    assert [spec.delay_after(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 180, 180]


def test_a_killed_workers_job_comes_back_when_its_heartbeat_stops_not_after_the_lease(
    make_queue: QueueMaker, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    """kill -9 leaves no ack: the job must return once the worker misses its heartbeat (WORKER_TTL), not
    after the 10-minute lease; the lost attempt is recorded."""
    registry.register("t.work", lambda ctx, payload: None)
    first, second = make_queue(), make_queue()
    first.enqueue("t.work", {"x": 1})
    first.heartbeat("killed")
    held = first.reserve("killed", wait=0)
    assert held is not None
    first.heartbeat("killed")
    clock.advance(WORKER_TTL / 2)
    assert second.maintain() == 0  # still beating recently: left alone

    clock.advance(WORKER_TTL)  # a minute and a half of silence, far inside the lease
    _forget_worker(second, "killed")
    assert second.maintain() == 1
    again = worker_for(second, "w2").run_once()
    assert again is not None and again.attempt == 2


def test_a_long_job_keeps_beating_and_is_not_handed_to_another_worker(
    make_queue: QueueMaker,
    registry: Registry,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: FixedClock,
) -> None:
    queue, other = make_queue(), make_queue()
    reaped: list[int] = []

    def long_job(ctx: JobContext, payload: dict[str, Any]) -> None:
        # Minutes pass while the handler works; the worker's side thread keeps beating meanwhile.
        for _ in range(3):
            clock.advance(WORKER_TTL / 2)
            before = _beats(queue)
            deadline = time.monotonic() + 10
            while _beats(queue) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            reaped.append(other.maintain())

    registry.register("t.long", long_job)
    queue.enqueue("t.long", {})
    worker = Worker(
        _counting(queue),
        session_factory=session_factory,
        clock=clock,
        settings=settings,
        jobs=registry,
        worker_id="busy",
        heartbeat_interval=0.01,
    )
    assert worker.run_once() is not None
    assert reaped == [0, 0, 0]
    assert worker.run_once() is None


def test_every_failed_attempt_keeps_its_error(
    make_queue: QueueMaker, registry: Registry, worker_for: Callable[..., Worker], clock: FixedClock
) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(ctx.attempt)
        raise RuntimeError(f"failure {ctx.attempt}")

    registry.register("t.flaky", flaky, max_attempts=4, backoff=timedelta(seconds=1))
    queue = make_queue()
    queue.enqueue("t.flaky", {})
    worker = worker_for(queue)
    assert worker.run_once() is not None  # attempt 1 fails
    clock.advance(timedelta(seconds=5))
    queue.maintain()
    queue.heartbeat("gone")
    assert queue.reserve("gone", wait=0) is not None  # attempt 2: its worker is killed
    clock.advance(WORKER_TTL * 2)
    _forget_worker(queue, "gone")
    queue.maintain()
    for _ in range(2):  # attempts 3 and 4 fail; 4 is the last
        assert worker.run_once() is not None
        clock.advance(timedelta(minutes=1))
        queue.maintain()

    [letter] = queue.dead_letters()
    assert [e.attempt for e in letter.errors] == [1, 2, 3, 4]
    assert [e.error for e in letter.errors] == [
        "RuntimeError: failure 1",
        silent_worker_error("gone"),
        "RuntimeError: failure 3",
        "RuntimeError: failure 4",
    ]
    assert letter.error == "RuntimeError: failure 4"


def _forget_worker(queue: JobQueue, worker_id: str) -> None:
    """What WORKER_TTL of silence does on Redis, whose key expiry runs on Redis's own clock."""
    from opsdesk.core.jobs.redis_queue import RedisQueue

    if isinstance(queue, RedisQueue):
        queue.redis.delete(queue._k("alive", worker_id))


class _CountingQueue:
    def __init__(self, inner: JobQueue) -> None:
        self.inner = inner
        self.beats = 0

    def heartbeat(self, worker_id: str) -> None:
        self.inner.heartbeat(worker_id)
        self.beats += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _counting(queue: JobQueue) -> JobQueue:
    counting = _CountingQueue(queue)
    queue.__dict__["_counter"] = counting
    return counting  # type: ignore[return-value]


def _beats(queue: JobQueue) -> int:
    return int(queue.__dict__["_counter"].beats)
