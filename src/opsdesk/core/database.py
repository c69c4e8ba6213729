"""Engine, sessions and the declarative base shared by every domain package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    MetaData,
    cast,
    create_engine,
    event,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which drops zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


# Execution option that makes a SQLite transaction take the write lock when it begins.
WRITE_INTENT = "opsdesk_write_intent"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Disconnects are handled optimistically: a pre-ping costs a round trip on every checkout (every
    # request), while a dead connection is rare and costs one failed request, after which SQLAlchemy
    # invalidates the whole pool. Recycling keeps connections younger than server-side idle timeouts.
    kwargs.setdefault("pool_recycle", 1800)
    # Per process. The pool keeps as many connections as a busy process has requests in flight: when
    # it kept 5, connections beyond them were opened and closed per request, and starting a backend
    # tripled PostgreSQL's CPU per ticket. Web requests use at most pool_size at once (see
    # opsdesk.web.connection_gate); the overflow is the reserve for a request's second connection.
    # `opsdesk serve` runs 2 x CPUs such processes; on a large machine raise max_connections or
    # put PgBouncer in front.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 5)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """A transaction that will write begins IMMEDIATE: it waits (busy_timeout) for the write lock up
    front instead of reading first and failing with SQLITE_BUSY when it upgrades to write after another
    connection has committed. Other transactions keep the driver's behaviour (reads outside a
    transaction, BEGIN before the first write), so they never wait on writers (WAL)."""
    if connection.get_execution_options().get(WRITE_INTENT, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def declare_write(session: Session) -> None:
    """Mark the session's next transaction as one that writes. Call before its first statement."""
    session.connection(execution_options={WRITE_INTENT: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close. ``write=False`` for
    a look that writes nothing, so on SQLite it never waits for (or holds) the write lock."""
    session = factory()
    if write:
        declare_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utc_day(column: ColumnElement[Any] | QueryableAttribute[Any], dialect_name: str) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, as SQL both databases run the same way."""
    if dialect_name == "sqlite":
        return func.date(column)
    return cast(func.timezone("UTC", column), Date)
