"""New tickets wake the router: a creation asks for a routing pass (one job per quarter second) when routing
is on and someone is online, so a new ticket is assigned at once, not at the next tick; and the asking
costs the creation one statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import DatabaseQueue, Worker
from opsdesk.core.jobs.models import JobRow
from opsdesk.core.settings import Settings
from opsdesk.desk.models import Ticket
from opsdesk.desk.routing.models import PresenceStatus
from opsdesk.desk.routing.presence import set_presence
from opsdesk.desk.routing.triggers import DRAIN_JOB
from tests.desk.routing.helpers import agent, assignment_events, requester, switch_on, ticket


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def drain_jobs(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(JobRow).where(JobRow.name == DRAIN_JOB)) or 0


def test_a_new_ticket_is_assigned_by_the_job_its_creation_queued(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    load_job_modules()
    switch_on(db, clock)
    only = agent(db, clock)
    who = requester(db, clock)
    db.commit()
    clock.advance(timedelta(seconds=1))
    # The worker runs only what was queued: the periodic tick is the scheduler's, which is not running.
    queue = DatabaseQueue(session_factory, clock)
    worker = Worker(queue, session_factory=session_factory, clock=clock, settings=settings)
    worker.drain()  # whatever the setup asked for
    before = drain_jobs(db)

    fresh = ticket(db, clock, who)
    db.commit()
    assert drain_jobs(db) == before + 1
    assert worker.drain() == 1
    db.expire_all()
    assert db.get_one(Ticket, fresh.id).assignee_id == only.id
    [assigned] = assignment_events(db, fresh.id)
    assert assigned.data["via"] == "routing" and assigned.data["routing"]["rules"]

    # A burst within one quarter second queues one pass, which assigns the whole burst.
    clock.advance(timedelta(seconds=1))
    burst = [ticket(db, clock, who) for _ in range(3)]
    db.commit()
    assert drain_jobs(db) == before + 2
    assert worker.drain() == 1
    db.expire_all()
    assert all(db.get_one(Ticket, t.id).assignee_id == only.id for t in burst)


def test_creation_asks_with_one_statement_and_only_when_someone_could_take_it(
    db: Session, clock: FixedClock, engine: Engine
) -> None:
    who = requester(db, clock)
    db.commit()
    # Routing not configured: no job (the tick and the jobs table stay quiet on a desk without it).
    ticket(db, clock, who)
    db.commit()
    assert drain_jobs(db) == 0

    switch_on(db, clock)
    someone = agent(db, clock)
    set_presence(db, agent=someone, status=PresenceStatus.OFFLINE, clock=clock, actor=None)
    db.commit()
    clock.advance(timedelta(seconds=1))
    jobs = drain_jobs(db)
    ticket(db, clock, who)  # nobody online: nobody to assign it to, no pass
    db.commit()
    assert drain_jobs(db) == jobs

    set_presence(db, agent=someone, status=PresenceStatus.ONLINE, clock=clock, actor=None)
    db.commit()
    clock.advance(timedelta(seconds=1))
    jobs = drain_jobs(db)
    ticket(db, clock, who)  # warm the statement caches
    db.commit()
    clock.advance(timedelta(seconds=1))
    with counting(engine) as statements:
        ticket(db, clock, who)
        db.flush()
    db.commit()
    assert drain_jobs(db) == jobs + 2
    # The whole request (is routing on, is anyone online, queue the pass) is one statement.
    tables = ("routing_settings", "agent_presence", "background_jobs")
    routing = [s for s in statements if any(table in s for table in tables)]
    assert len(routing) == 1, statements
    assert "background_jobs" in routing[0] and "routing_settings" in routing[0]
