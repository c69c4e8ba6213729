"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from opsdesk.core.database import make_engine
from opsdesk.schema import is_migrated, metadata
from tests.conftest import PG_URL

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    if not PG_URL:
        pytest.skip("OPSDESK_TEST_DATABASE_URL is not set")
    name = f"opsdesk_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_to_head_matches_the_models(fresh_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", fresh_url)
    command.upgrade(config, "head")
    engine = make_engine(fresh_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": lambda n, t, _p: is_migrated(n, t)}
        )
        diff = compare_metadata(context, metadata)
        tables = set(inspect(conn).get_table_names())
        versions = conn.execute(text("SELECT name, version FROM config_versions")).all()
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert [tuple(row) for row in versions] == [("sla", 0)]
    assert {"tickets", "messages", "events", "audit_log"} <= tables
    if fresh_url.startswith("sqlite"):
        assert {"ticket_subject_fts", "message_text_fts"} <= tables


def test_search_works_on_a_migrated_database(fresh_url: str) -> None:
    """The search index built by the migration (not by metadata.create_all) finds tickets."""
    from datetime import UTC, datetime

    from opsdesk.core.clock import FixedClock
    from opsdesk.core.database import make_session_factory
    from opsdesk.core.models import Role
    from opsdesk.desk import actions
    from opsdesk.desk.models import Channel
    from opsdesk.desk.search import search_tickets
    from tests.factories import make_user

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", fresh_url)
    command.upgrade(config, "head")
    engine = make_engine(fresh_url)
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    with make_session_factory(engine)() as session:
        requester = make_user(session, clock, Role.REQUESTER, email="rita@example.com")
        admin = make_user(session, clock, Role.ADMIN, email="admin@example.com")
        actions.create_ticket(
            session,
            requester=requester,
            subject="Invoice shows wrong lives",
            body_text="The reconciliation export is empty",
            channel=Channel.EMAIL,
            clock=clock,
        )
        session.commit()
        hits = search_tickets(session, user=admin, q="reconciliation").hits
        assert [h.ticket.subject for h in hits] == ["Invoice shows wrong lives"]
    engine.dispose()


def test_sla_check_times_move_onto_tickets_and_back(fresh_url: str) -> None:
    """0004 moves each ticket's next SLA check from sla_checks onto the ticket row; downgrading puts
    the rows back, and leaves the tickets' messages where they were."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", fresh_url)
    command.upgrade(config, "0003")
    engine = make_engine(fresh_url)
    at = "2026-03-02 09:00:00+00:00" if fresh_url.startswith("postgresql") else "2026-03-02 09:00:00"
    due = "2026-03-02 17:00:00+00:00" if fresh_url.startswith("postgresql") else "2026-03-02 17:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, name, role, active, languages, skills, created_at) "
                "VALUES (1, 'Rita', 'requester', true, '[]', '[]', :at)"
            ),
            {"at": at},
        )
        for ticket_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO tickets (id, subject, status, priority, channel, requester_id, tier, "
                    "sensitive, custom_fields, created_at, updated_at) "
                    "VALUES (:id, 'Export', 'open', 'normal', 'email', 1, 'L1', false, '{}', :at, :at)"
                ),
                {"id": ticket_id, "at": at},
            )
        conn.execute(text("INSERT INTO sla_checks (ticket_id, due_at) VALUES (1, :due)"), {"due": due})
        conn.execute(
            text(
                "INSERT INTO messages (ticket_id, author_kind, public, channel, body_html, body_text, "
                "created_at) VALUES (1, 'requester', true, 'email', '<p>Hi</p>', 'Hi', :at)"
            ),
            {"at": at},
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        moved = conn.execute(text("SELECT id, sla_check_at FROM tickets ORDER BY id")).all()
        assert "sla_checks" not in inspect(conn).get_table_names()
    assert [(row[0], row[1] is not None) for row in moved] == [(1, True), (2, False)]
    assert str(moved[0][1]).startswith("2026-03-02 17:00:00")
    command.downgrade(config, "0003")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT ticket_id, due_at FROM sla_checks")).all()
        messages = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
    engine.dispose()
    assert [(row[0], str(row[1])[:19]) for row in back] == [(1, "2026-03-02 17:00:00")]
    assert messages == 1  # the tickets table was altered in place, not rebuilt


def test_a_migrated_database_refuses_rewriting_the_logs(fresh_url: str) -> None:
    """0005's triggers refuse UPDATE and DELETE on the event and audit logs (and TRUNCATE on
    PostgreSQL); downgrading to 0004 removes them again."""
    from tests.core.test_append_only import refused

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", fresh_url)
    command.upgrade(config, "head")
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, name, role, active, languages, skills, created_at) "
                "VALUES (1, 'Ada', 'admin', true, '[]', '[]', '2026-03-02 09:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO events (at, actor_id, subject_type, subject_id, type, data) "
                "VALUES ('2026-03-02 09:00:00', 1, 'user', 1, 'user_created', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor_id, action, subject_type, subject_id, detail) "
                "VALUES ('2026-03-02 09:00:00', 1, 'signed_in', 'user', 1, '{}')"
            )
        )
    statements = ["UPDATE events SET type = 'x'", "DELETE FROM events", "UPDATE audit_log SET action = 'x'"]
    statements += ["DELETE FROM audit_log WHERE id = 1"]
    if fresh_url.startswith("postgresql"):
        statements += ["TRUNCATE events", "TRUNCATE audit_log"]
    for statement in statements:
        assert "append-only" in refused(engine, statement), statement
    command.downgrade(config, "0004")
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET type = 'x'"))
        conn.execute(text("DELETE FROM audit_log"))
    engine.dispose()
