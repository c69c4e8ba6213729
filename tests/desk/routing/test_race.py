"""Four routing workers, each on its own connection, racing over 10,000 waiting tickets on PostgreSQL:
no ticket is assigned twice and no agent gets more than their capacity."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.models import Event
from opsdesk.desk.models import Channel, Priority, Status, Ticket
from opsdesk.desk.routing.dispatch import drain
from tests.conftest import PG_URL
from tests.desk.routing.helpers import agent, requester, switch_on

TICKETS = 10_000
AGENTS = 100
WORKERS = 4


def _insert_waiting(db: Session, clock: FixedClock, requester_id: int) -> None:
    now = clock.now()
    rows = [
        {
            "subject": f"Waiting {n}",
            "status": Status.NEW,
            "priority": (Priority.NORMAL, Priority.HIGH, Priority.URGENT, Priority.LOW)[n % 4],
            "channel": Channel.EMAIL,
            "requester_id": requester_id,
            "tier": "L1",
            "sensitive": False,
            "custom_fields": {},
            "created_at": now - timedelta(seconds=n),
            "updated_at": now,
        }
        for n in range(TICKETS)
    ]
    db.execute(insert(Ticket), rows)


@pytest.mark.skipif(not PG_URL, reason="needs OPSDESK_TEST_DATABASE_URL (PostgreSQL)")
def test_four_workers_never_assign_a_ticket_twice(engine: Engine, db: Session, clock: FixedClock) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the race is PostgreSQL's (SQLite has a single writer)")
    switch_on(db, clock)
    agents = [agent(db, clock, capacity={"ticket": TICKETS // AGENTS}) for _ in range(AGENTS)]
    who = requester(db, clock)
    _insert_waiting(db, clock, who.id)
    db.commit()

    engines = [make_engine(PG_URL, pool_size=1, max_overflow=0) for _ in range(WORKERS)]
    factories: list[sessionmaker[Session]] = [make_session_factory(e) for e in engines]
    start = threading.Barrier(WORKERS)
    assigned = [0] * WORKERS
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            # A worker that finds every agent locked by another assigns nothing and stops, like a job
            # run; it tries again while work is left, as the next wake-up would.
            for _ in range(200):
                assigned[n] += drain(factories[n], clock=clock, limit=250)
                with factories[n]() as s:
                    left = s.scalar(select(func.count()).where(Ticket.assignee_id.is_(None)))
                if not left:
                    return
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for e in engines:
        e.dispose()
    assert not errors, errors

    events = db.execute(
        select(Event.subject_id, Event.data["to_assignee_id"].as_integer()).where(
            Event.type == "assigned", Event.subject_type == "ticket"
        )
    ).all()
    per_ticket = Counter(ticket_id for ticket_id, _ in events)
    assert len(per_ticket) == TICKETS and max(per_ticket.values()) == 1  # 0 double assignments
    assert sum(assigned) == TICKETS
    loads = Counter(db.scalars(select(Ticket.assignee_id)).all())
    assert None not in loads and max(loads.values()) <= TICKETS // AGENTS
    assert {a.id for a in agents} == set(loads)
    # every event names the agent the ticket has now
    now_with = dict(db.execute(select(Ticket.id, Ticket.assignee_id)).all())
    assert all(now_with[ticket_id] == agent_id for ticket_id, agent_id in events)
