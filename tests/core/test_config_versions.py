"""Configuration version counters: bumped in the writer's transaction, read as committed, never reset."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.config_versions import bump_version, bumped_in_transaction, read_version


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
