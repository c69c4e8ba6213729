"""The event and audit logs refuse rewriting by plain SQL, not only through the ORM (issue 9, defect 7).
These tests build the schema with ``metadata.create_all``; ``tests/test_migrations.py`` checks that a
migrated database refuses the same statements."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core import audit
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import AuditEntry, Event, Role
from tests.factories import make_user

REWRITES = [
    "UPDATE events SET type = 'rewritten'",
    "UPDATE events SET data = '{}' WHERE id = 1",
    "DELETE FROM events",
    "DELETE FROM events WHERE id = 1",
    "UPDATE audit_log SET action = 'rewritten'",
    "DELETE FROM audit_log",
]


def _one_of_each(db: Session, clock: FixedClock) -> None:
    admin = make_user(db, clock, Role.ADMIN, email="admin@example.com")
    append_event(db, subject_type="user", subject_id=admin.id, type="probe", at=clock.now(), actor=admin)
    audit.record(db, actor=admin, action="probe", subject_type="user", subject_id=admin.id, at=clock.now())
    db.commit()


def _counts(conn: Connection) -> tuple[int, int, int]:
    return (
        conn.scalar(select(func.count()).select_from(Event)) or 0,
        conn.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        conn.scalar(select(func.count()).select_from(Event).where(Event.type == "probe")) or 0,
    )


def refused(engine: Engine, statement: str) -> str:
    """Runs ``statement`` in its own transaction and returns the database's refusal."""
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text(statement))
    return str(caught.value.orig)


@pytest.mark.parametrize("statement", REWRITES)
def test_plain_sql_cannot_rewrite_the_logs(
    engine: Engine, db: Session, clock: FixedClock, statement: str
) -> None:
    _one_of_each(db, clock)
    with engine.connect() as conn:
        before = _counts(conn)
    assert "append-only" in refused(engine, statement)
    with engine.connect() as conn:
        assert _counts(conn) == before


def test_a_rewrite_that_matches_no_row_is_refused_too_on_postgresql(engine: Engine) -> None:
    """PostgreSQL's triggers are per statement, so even an empty table refuses; SQLite's fire per row."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite triggers fire per row")
    assert "append-only" in refused(engine, "DELETE FROM events WHERE id < 0")


@pytest.mark.parametrize("statement", ["TRUNCATE events", "TRUNCATE audit_log", "TRUNCATE users CASCADE"])
def test_truncate_is_refused_on_postgresql(
    engine: Engine, db: Session, clock: FixedClock, statement: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _one_of_each(db, clock)
    assert "append-only" in refused(engine, statement)
    with engine.connect() as conn:
        assert _counts(conn) == (2, 2, 1)  # the admin's creation is audited and logged too


def test_appending_still_works(engine: Engine, db: Session, clock: FixedClock) -> None:
    _one_of_each(db, clock)
    with engine.connect() as conn:
        before = _counts(conn)
    make_user(db, clock, Role.AGENT, email="agent@example.com")
    db.commit()
    with engine.connect() as conn:
        after = _counts(conn)
    assert after[0] > before[0] and after[1] > before[1]
