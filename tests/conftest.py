"""Shared fixtures. Every test that takes `engine` (or `db`, `live_server`) runs on SQLite and, when
OPSDESK_TEST_DATABASE_URL is set, again on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.append_only import APPEND_ONLY_TABLES, append_only_ddl, sqlite_trigger_names
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.settings import Settings
from opsdesk.schema import metadata

# Rich wraps CLI messages to the terminal's width, and tests match whole messages (file paths
# included, whose length depends on where pytest puts its temporary files): give them a wide one.
os.environ["COLUMNS"] = "250"
# Overload shedding (web.load_shedding) answers 503 when a worker's event loop runs a standing queue:
# two test processes beside a headless browser on two cores can make one, and a refused asset or page
# would fail a test that is not about overload. tests/web/test_load_shedding.py turns it on.
os.environ.setdefault("OPSDESK_SHED_LAG_SECONDS", "0")


def _own_database(url: str) -> str:
    """With pytest-xdist, each worker process gets a PostgreSQL database of its own (test_gw0, ...),
    created on first use: the tests empty and recreate their database's schema, so two workers on
    one database would wipe each other's data."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base, _, name = url.rpartition("/")
    own = f"{name}_{worker}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{own}"'))
    finally:
        admin.dispose()
    return f"{base}/{own}"


PG_URL = _own_database(os.environ.get("OPSDESK_TEST_DATABASE_URL", ""))
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With PostgreSQL configured (CI), page tests in a real browser and the API fuzz run once, on
    PostgreSQL, not on both databases: they test what the pages and the API do with any database (the
    queries under them run on both in their own tests), they are the suite's slowest, and PostgreSQL is the
    stricter of the two (integer and text limits). Without it they run on SQLite, as everything does."""
    if len(BACKENDS) < 2:
        return
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        once = "browser" in getattr(item, "fixturenames", ()) or item.get_closest_marker("one_database")
        (dropped if once and params.get("_engine") == "sqlite" else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def shared_data(name: str) -> Path:
    """A file of the workplace's `shared/data/`, beside the checkout or, for a git worktree, beside the
    folder of worktrees: the nearest one above this file."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "data" / name).is_file():
            return folder / "shared" / "data" / name
    pytest.fail(f"shared/data/{name} is not in any folder above {__file__}")


@pytest.fixture(scope="session", params=BACKENDS)
def _engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
    else:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _empty_all_tables(engine: Engine) -> None:
    """Empties every table but the configuration versions, which it bumps instead: deleting the rows
    changes the configuration, and a version must never repeat, or this process's caches would trust
    the previous test's configuration for the next test's at the same version.

    The event and audit logs refuse DELETE and TRUNCATE (database triggers); only this cleanup gets past
    them: PostgreSQL skips ordinary triggers for a replica session, SQLite's are dropped and recreated
    inside the same transaction."""
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name != "config_versions"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for log in APPEND_ONLY_TABLES:
                for trigger in sqlite_trigger_names(log):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            for log in APPEND_ONLY_TABLES:
                for statement in append_only_ddl("sqlite", log):
                    conn.execute(text(statement))
            if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                conn.execute(text("DELETE FROM sqlite_sequence"))
        conn.execute(text("UPDATE config_versions SET version = version + 1"))


@pytest.fixture
def engine(_engine: Engine) -> Iterator[Engine]:
    yield _engine
    _empty_all_tables(_engine)


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and checking; commit what the code under test must see."""
    session = session_factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # a Monday morning


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="test-secret", support_address="support@opsdesk.test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    app: FastAPI

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@contextmanager
def serving(app: FastAPI) -> Iterator[LiveServer]:
    """``app`` on a real loopback port, served by uvicorn in a thread until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(engine: Engine, clock: FixedClock, settings: Settings) -> Iterator[LiveServer]:
    """The real application on a real loopback port, sharing the test database and clock."""
    from opsdesk.web.app import create_app

    with serving(create_app(settings, engine=engine, clock=clock)) as server:
        yield server


T = TypeVar("T")


def run_in_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the session's browser (Playwright's sync API) keeps an
    event loop running on the main thread, where ``asyncio.run`` refuses to start another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
