"""The audit log: sensitive reads and administrative changes, for access reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event, insert
from sqlalchemy.orm import Session, SessionTransaction

from opsdesk.core.models import AuditEntry, User

# Rows that record_apart holds back until the session's own transaction ends.
_PENDING = "opsdesk_audit_apart"


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    row = AuditEntry(
        at=at,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail or {},
    )
    session.add(row)
    return row


def entry(
    *,
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit row as values, for :func:`record_apart`."""
    return {
        "at": at,
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "detail": detail or {},
    }


def record_apart(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Write audit rows (see :func:`entry`) in a transaction of their own, which the caller's rollback
    cannot undo: for refused reads, which end in an error and a rollback, and for what lists, searches
    and downloads showed, whatever the request does next. All rows go in one INSERT.

    While ``session`` is in a transaction the rows are written the moment it ends (commit or rollback),
    after it has given its connection back: a request then never holds two pool connections at once,
    and on SQLite never waits for the write lock its own transaction holds."""
    if not entries:
        return
    if session.in_transaction():
        session.info.setdefault(_PENDING, []).extend(entries)
    else:
        _insert(session.get_bind(), list(entries))


def _insert(bind: Engine | Connection, rows: list[dict[str, Any]]) -> None:
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.begin() as connection:
        connection.execute(insert(AuditEntry).values(rows))


@event.listens_for(Session, "after_transaction_end")
def _write_held_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and _PENDING in session.info:
        _insert(session.get_bind(), session.info.pop(_PENDING))
