"""Configuration version counters: bumped in the writer's transaction, read as committed, never reset."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

import opsdesk.desk.sla.policy_cache  # noqa: F401  (registers the "sla" version)
from opsdesk.core.clock import FixedClock
from opsdesk.core.config_versions import bump_version, bumped_in_transaction, read_version, riding_names
from opsdesk.core.models import Role
from opsdesk.core.queries import user_for_token
from tests.factories import make_token, make_user


def test_a_missing_counter_reads_zero_and_the_first_bump_creates_it(db: Session) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    assert read_version(db, name) == 0
    bump_version(db, name)
    bump_version(db, name)
    assert read_version(db, name) == 2
    db.commit()
    assert read_version(db, name) == 2


def test_a_bump_is_seen_by_others_when_it_commits_and_never_after_a_rollback(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as writer, session_factory() as reader:
        start = read_version(reader, "sla")
        reader.rollback()
        bump_version(writer, "sla")
        assert read_version(writer, "sla") == start + 1
        assert read_version(reader, "sla") == start
        reader.rollback()
        writer.rollback()
        assert read_version(reader, "sla") == start
        reader.rollback()
        bump_version(writer, "sla")
        writer.commit()
        assert read_version(reader, "sla") == start + 1


def test_the_bumping_transaction_knows_it_bumped_until_it_ends(db: Session) -> None:
    assert not bumped_in_transaction(db, "sla")
    bump_version(db, "sla")
    assert bumped_in_transaction(db, "sla")
    assert not bumped_in_transaction(db, "other")
    db.commit()
    assert not bumped_in_transaction(db, "sla")
    bump_version(db, "sla")
    db.rollback()
    assert not bumped_in_transaction(db, "sla")


def test_versions_ride_on_authentication_for_the_rest_of_its_transaction(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    """The token check reads the versions the request's caches need; until its transaction ends they
    cost no statement, a bump in the same transaction is seen at once, and the next transaction reads
    afresh (so another process's committed bump is never missed for longer than one transaction)."""
    assert "sla" in riding_names()  # registered by the SLA policy cache
    token = make_token(db, clock, make_user(db, clock, Role.AGENT, email="a@example.com"))
    db.commit()
    start = read_version(db, "sla")
    db.commit()
    statements: list[str] = []

    def reads() -> int:  # statements of read_version's own
        return sum(1 for text in statements if text.lstrip().startswith("SELECT config_versions.version"))

    event.listen(db.get_bind(), "before_cursor_execute", _record(statements))
    try:
        assert user_for_token(db, token, clock) is not None
        assert read_version(db, "sla") == start and reads() == 0
        with session_factory() as other:
            bump_version(other, "sla")
            other.commit()
        assert read_version(db, "sla") == start and reads() == 0  # as the token check saw it, moments ago
        db.commit()
        assert read_version(db, "sla") == start + 1 and reads() == 1  # a new transaction reads afresh
        db.commit()
        assert user_for_token(db, token, clock) is not None
        bump_version(db, "sla")
        assert read_version(db, "sla") == start + 2 and reads() == 2  # its own bump, read at once
        db.rollback()
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", _RECORDERS.pop())


_RECORDERS: list[Any] = []


def _record(statements: list[str]) -> Any:
    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    _RECORDERS.append(record)
    return record
