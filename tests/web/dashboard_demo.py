"""One small demo organisation served for a whole test module: loading it per test would take the
run's time. The dashboards' cache is emptied around it (test databases restart their ids)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_session_factory
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.demo.loader import load_demo
from opsdesk.insights.dashboards.data import CACHE
from tests.conftest import LiveServer, _empty_all_tables, serving
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
READERS = {
    "lead@dash.test": Role.SUPPORT_LEAD,
    "cslead@dash.test": Role.CS_LEAD,
    "csm@dash.test": Role.CSM,
    "agent@dash.test": Role.AGENT,
    "qa@dash.test": Role.QA_REVIEWER,
}


@dataclass
class Demo:
    server: LiveServer
    engine: Engine
    clock: FixedClock


def serve_demo(engine: Engine, data_dir: Path) -> Iterator[Demo]:
    from opsdesk.web.app import create_app

    clock = FixedClock(NOW)
    factory = make_session_factory(engine)
    CACHE.clear()
    load_demo(
        factory, clock=clock, organisations=60, tickets_per_day=12, history_days=42, success_accounts=40
    )
    with factory() as session, session.begin():
        for email, role in READERS.items():
            make_user(session, clock, role, email=email)
    settings = Settings(data_dir=data_dir, secret_key="dash-secret", support_address="s@opsdesk.test")
    try:
        with serving(create_app(settings, engine=engine, clock=clock)) as server:
            yield Demo(server, engine, clock)
    finally:
        CACHE.clear()
        _empty_all_tables(engine)
