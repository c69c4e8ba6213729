"""Version counters for configuration that processes cache (SLA policies and hours, ...).

A write to such configuration bumps its counter in the same transaction, so every process sees the new
version exactly when it sees the new rows; a process re-reads the configuration only when the counter it
reads differs from the one its cache was built at. Counters only go up: an equal version must mean equal
configuration, so the rows are never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, Executable, String, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from opsdesk.core.database import Base


class ConfigVersion(Base):
    __tablename__ = "config_versions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


def _upsert(insert: Callable[[type[ConfigVersion]], Any]) -> Executable:
    statement = insert(ConfigVersion).values(name=bindparam("name"), version=1)
    return cast(
        Executable,
        statement.on_conflict_do_update(
            index_elements=[ConfigVersion.name], set_={"version": ConfigVersion.version + 1}
        ),
    )


# Built once, like every statement on a hot path. An upsert, so a database built by create_all (no row
# yet) works, and two transactions bumping at once serialise on the row instead of colliding.
_BUMPS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
_READ = select(ConfigVersion.version).where(ConfigVersion.name == bindparam("name"))
_BUMPED = "opsdesk.config_versions.bumped"
_SEEN = "opsdesk.config_versions.seen"
_riding: tuple[str, ...] = ()


def bump_version(session: Session, name: str) -> None:
    """Marks ``name``'s configuration as changed, in the caller's transaction."""
    dialect = session.get_bind().dialect.name
    session.execute(_BUMPS.get(dialect, _BUMPS["sqlite"]), {"name": name})
    bumped: dict[str, SessionTransaction | None] = session.info.setdefault(_BUMPED, {})
    bumped[name] = session.get_transaction()
    remembered = session.info.get(_SEEN)
    if remembered is not None:
        remembered[1].pop(name, None)  # read again from now on: this transaction sees its own bump


def ride_on_authentication(name: str) -> None:
    """Has ``name``'s version read by the query that authenticates each request (the token or session
    check), so that the request's cache lookups cost no statement of their own. For configuration that
    requests consult, called once where its cache is defined."""
    global _riding
    if name not in _riding:
        _riding = (*_riding, name)


def riding_names() -> tuple[str, ...]:
    return _riding


def riding_columns(names: tuple[str, ...]) -> list[ColumnElement[Any]]:
    """One scalar subquery per name, for the authentication query to select beside its row."""
    return [
        select(ConfigVersion.version).where(ConfigVersion.name == name).scalar_subquery().label(f"v_{name}")
        for name in names
    ]


def remember_versions(session: Session, names: tuple[str, ...], versions: Sequence[int | None]) -> None:
    """Keeps versions read by the authentication query for the rest of this transaction."""
    seen = {name: version or 0 for name, version in zip(names, versions, strict=True)}
    session.info[_SEEN] = (session.get_transaction(), seen)


def read_version(session: Session, name: str) -> int:
    """The committed version as this transaction sees it; 0 before the first bump. Taken from what the
    request's authentication read in this same transaction when it read it (it ran moments before, and
    a change committed in between only costs a reload next time, as it does between any version read
    and the rows read after it), else read now."""
    remembered = session.info.get(_SEEN)
    if remembered is not None and remembered[0] is session.get_transaction() and name in remembered[1]:
        return int(remembered[1][name])
    return session.connection().execute(_READ, {"name": name}).scalar_one_or_none() or 0


def bumped_in_transaction(session: Session, name: str) -> bool:
    """Whether this session's open transaction has bumped ``name``: its version then stands for rows no
    other transaction can see yet (and that vanish on rollback), so they must not be cached under it."""
    transaction = session.info.get(_BUMPED, {}).get(name)
    return transaction is not None and transaction is session.get_transaction()
