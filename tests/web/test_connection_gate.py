"""Many clients on a small connection pool (issue 9, defect 1): every request is answered, at worst
with a quick 503 and Retry-After, never left hanging; no connection stays checked out, or "idle in
transaction", once the answers are sent."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Priority, Ticket
from opsdesk.web.app import create_app
from opsdesk.web.connection_gate import ConnectionGate
from tests.conftest import serving
from tests.factories import make_token, make_user

CLIENTS = 24
REQUESTS_PER_CLIENT = 8


@dataclass
class Desk:
    token: str
    numbers: list[int]


@pytest.fixture
def desk(db: Session, clock: FixedClock) -> Desk:
    org = core_actions.create_organisation(db, name="Acme", clock=clock)
    agent = make_user(db, clock, Role.AGENT, email="agent@acme.test", organisation=org)
    requester = make_user(db, clock, Role.REQUESTER, email="pat@acme.test", organisation=org)
    tickets = [
        desk_actions.create_ticket(
            db,
            requester=requester,
            subject=f"Export fails {i}",
            body_text="Hello",
            channel=Channel.API,
            clock=clock,
        )
        for i in range(5)
    ]
    token = make_token(db, clock, agent)
    db.commit()
    return Desk(token, [t.id for t in tickets])


@pytest.fixture
def app_factory(engine: Engine, settings: Settings, clock: FixedClock) -> Iterator[Callable[..., FastAPI]]:
    """Applications on engines of their own, whose pools keep ``connections`` and open none beyond."""
    built: list[FastAPI] = []

    def build(*, connections: int, wait_seconds: float) -> FastAPI:
        url = engine.url.render_as_string(hide_password=False)
        small = make_engine(url, pool_size=connections, max_overflow=0)
        waiting = settings.model_copy(update={"db_wait_seconds": wait_seconds})
        app = create_app(waiting, engine=small, clock=clock)
        built.append(app)
        return app

    yield build
    for app in built:
        app.state.engine.dispose()


def idle_in_transaction(engine: Engine) -> int:
    """Sessions of the test database that sit in an open transaction doing nothing (PostgreSQL)."""
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return int(count)


def assert_all_given_back(app: FastAPI, engine: Engine) -> None:
    gate: ConnectionGate = app.state.connection_gate
    assert gate.free == gate.slots
    assert app.state.engine.pool.checkedout() == 0
    if engine.dialect.name == "postgresql":
        assert idle_in_transaction(engine) == 0


def test_many_keep_alive_clients_on_a_small_pool_are_all_answered(
    desk: Desk, engine: Engine, app_factory: Callable[..., FastAPI]
) -> None:
    """Half single-ticket reads (inline on PostgreSQL), half lists (thread pool), as in the issue:
    before the gate, an inline read blocked the event loop in the pool's checkout while the lists'
    connections waited for that loop to be given back, and every client stalled."""
    app = app_factory(connections=2, wait_seconds=5)
    statuses: list[int] = []
    refusals: list[httpx.Response] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        headers = {"Authorization": f"Bearer {desk.token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=20) as http:
            for i in range(REQUESTS_PER_CLIENT):
                if (k + i) % 2:
                    response = http.get(f"/api/v1/tickets/{desk.numbers[(k + i) % len(desk.numbers)]}")
                else:
                    response = http.get("/api/v1/tickets", params={"limit": 50})
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 503:
                        refusals.append(response)

    with serving(app) as server, ThreadPoolExecutor(CLIENTS) as pool:
        for done in [pool.submit(client, k) for k in range(CLIENTS)]:
            done.result()  # a hang would surface here as the client's read timeout
        assert len(statuses) == CLIENTS * REQUESTS_PER_CLIENT
        assert set(statuses) <= {200, 503}, sorted(set(statuses))
        for response in refusals:
            assert response.headers["retry-after"] == "1"
            assert response.json()["error"]["code"] == "unavailable"
        assert_all_given_back(app, engine)


def test_a_request_that_finds_no_free_connection_gets_503_with_retry_after(
    desk: Desk, db: Session, engine: Engine, app_factory: Callable[..., FastAPI]
) -> None:
    """The only connection is held by an update waiting for a row lock the test holds; a read then
    waits for a slot for ``db_wait_seconds`` and is refused, and the update completes once the lock
    goes. Before the gate the read waited in the pool's checkout (on PostgreSQL on the event loop,
    which the lock holder's release needed) for 30 s."""
    app = app_factory(connections=1, wait_seconds=0.2)
    gate: ConnectionGate = app.state.connection_gate
    number = desk.numbers[0]
    db.execute(update(Ticket).where(Ticket.id == number).values(priority=Priority.LOW))  # holds the lock
    with serving(app) as server, server.client(desk.token) as http, ThreadPoolExecutor(1) as pool:
        patch = pool.submit(http.patch, f"/api/v1/tickets/{number}", json={"priority": "urgent"})
        deadline = time.monotonic() + 10
        while gate.free and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gate.free == 0, "the update never took the connection"

        refused = http.get(f"/api/v1/tickets/{desk.numbers[1]}")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == {
            "code": "unavailable",
            "message": "the server is busy: no database connection came free within 0.2 s; retry after 1 s",
            "field": None,
        }
        db.rollback()
        assert patch.result().status_code == 200
        assert http.get(f"/api/v1/tickets/{desk.numbers[1]}").status_code == 200
        assert_all_given_back(app, engine)
    db.expire_all()
    assert db.get(Ticket, number).priority is Priority.URGENT  # type: ignore[union-attr]


def test_the_connection_is_given_back_before_the_answer_goes_out(
    desk: Desk, engine: Engine, app_factory: Callable[..., FastAPI]
) -> None:
    """A keep-alive client that reads slowly, or never, must not keep a connection: the session
    closes when the response is rendered, before its first byte is sent."""
    app = app_factory(connections=2, wait_seconds=5)
    held_at_start: list[tuple[str, int]] = []

    async def observed(scope, receive, send):  # type: ignore[no-untyped-def]
        async def watch(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                held_at_start.append((scope["path"], app.state.engine.pool.checkedout()))
            await send(message)

        await app(scope, receive, watch)

    with TestClient(observed, headers={"Authorization": f"Bearer {desk.token}"}) as http:  # type: ignore[arg-type]
        assert http.get("/api/v1/tickets", params={"limit": 50}).status_code == 200
        assert http.get(f"/api/v1/tickets/{desk.numbers[0]}").status_code == 200
        assert http.get("/api/v1/tickets/999999").status_code == 404
        body = {"subject": "Card declined", "body_text": "Hello", "requester_email": "rita@example.com"}
        assert http.post("/api/v1/tickets", json=body).status_code == 201
    assert [held for _path, held in held_at_start] == [0, 0, 0, 0], held_at_start
    assert_all_given_back(app, engine)


def test_under_overload_a_request_is_refused_at_once_rather_than_after_the_wait() -> None:
    """With every slot held and as many requests waiting as the gate queues, the next one is refused
    without waiting out ``wait_seconds``; those already waiting are served in turn."""
    from opsdesk.web.connection_gate import DatabaseBusy

    async def scenario() -> None:
        gate = ConnectionGate(slots=1, wait_seconds=30, max_waiting=2)
        await gate.enter()
        waiters = [asyncio.create_task(gate.enter()) for _ in range(2)]
        await asyncio.sleep(0)  # both now wait for the slot
        started = time.monotonic()
        with pytest.raises(DatabaseBusy, match="2 requests already wait"):
            await gate.enter()
        assert time.monotonic() - started < 1
        for _ in waiters:
            gate.leave()
            await asyncio.sleep(0)
        await asyncio.gather(*waiters)
        gate.leave()
        assert gate.free == gate.slots

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs in this thread (browsers)
        pool.submit(asyncio.run, scenario()).result()


def test_the_gate_queues_two_requests_per_connection_by_default() -> None:
    assert ConnectionGate(slots=10, wait_seconds=2).max_waiting == 20


def test_a_reply_to_a_locked_ticket_waits_off_the_event_loop(
    desk: Desk, db: Session, engine: Engine, app_factory: Callable[..., FastAPI]
) -> None:
    """Replies run inline on PostgreSQL when the ticket's row lock is free; when a transaction holds it
    the reply waits in the thread pool, so other requests keep being answered meanwhile."""
    if engine.dialect.name != "postgresql":
        pytest.skip("replies run inline on PostgreSQL only; SQLite has one writer at a time anyway")
    app = app_factory(connections=4, wait_seconds=5)
    number = desk.numbers[0]
    db.execute(update(Ticket).where(Ticket.id == number).values(priority=Priority.LOW))  # holds the lock
    with serving(app) as server, server.client(desk.token) as http, ThreadPoolExecutor(1) as pool:
        reply = pool.submit(
            http.post, f"/api/v1/tickets/{number}/messages", json={"body_html": "<p>On it</p>"}
        )
        time.sleep(0.5)  # the reply is now waiting for the lock
        with server.client(desk.token) as other:
            started = time.monotonic()
            assert other.get(f"/api/v1/tickets/{desk.numbers[1]}").status_code == 200
            assert time.monotonic() - started < 2  # the process was not stalled by the waiting reply
        assert not reply.done()
        db.rollback()
        assert reply.result().status_code == 201
        assert (
            http.post(f"/api/v1/tickets/{number}/messages", json={"body_html": "<p>Again</p>"}).status_code
            == 201
        )  # and inline once the lock is free
        assert_all_given_back(app, engine)
