"""Rows written with Core INSERTs on a hot path, then handed to the ORM as if a flush had written them.

A unit-of-work flush costs about twice the CPU of the INSERTs it sends: on ticket creation it was the
largest single cost. Where a write path knows every column of its new rows, it can INSERT them with Core
(:func:`column_values`) and attach the objects (:func:`attach_inserted`): callers get ordinary persistent
objects, nothing is written twice, and a rollback of the transaction or savepoint the rows were written
in expunges the objects, as it expunges what a flush inserted (otherwise a stale object could keep an id
that SQLite hands out again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

_ATTACHED = "opsdesk_inserted_rows"


def column_values(obj: Any) -> dict[str, Any]:
    """A new object's column values, for a Core INSERT of its row; a generated id only when it is set.

    Every other column must have been given, foreign keys too (assigning a relationship fills its key
    only at flush), so that the attached object has nothing left to load."""
    state = inspect(obj)
    generated = state.mapper.local_table.autoincrement_column
    values: dict[str, Any] = {}
    for prop in state.mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state.dict:
            if state.dict[prop.key] is not None or column is not generated:
                values[column.key] = state.dict[prop.key]
        elif column is not generated:
            raise ValueError(f"{type(obj).__name__}.{prop.key} must be set before its row is inserted")
    return values


def attach_inserted(session: Session, objects: Sequence[Any]) -> None:
    """Attach new objects whose rows were just INSERTed on ``session``'s connection (primary keys set).

    What they hold, relationships included, becomes their loaded state. Give children with their
    parents: a child left out would be cascaded in as pending and inserted again."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        raise RuntimeError("attach inserted rows inside the transaction that wrote them")
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        session.add(obj)
    session.info.setdefault(_ATTACHED, []).append((transaction, list(objects)))


def _ended_with(written_in: SessionTransaction, ended: SessionTransaction) -> bool:
    """Whether rows written in ``written_in`` are undone when ``ended`` rolls back: it is that
    transaction or encloses it (a released savepoint's rows belong to its parent)."""
    current: SessionTransaction | None = written_in
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _expunge_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    attached = session.info.get(_ATTACHED)
    if not attached:
        return
    kept = []
    for written_in, objects in attached:
        if _ended_with(written_in, previous_transaction):
            for obj in objects:
                if obj in session:
                    session.expunge(obj)
        else:
            kept.append((written_in, objects))
    session.info[_ATTACHED] = kept


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    """Once the outermost transaction commits the rows are for good (a savepoint's release is not).
    A session closed without either drops its objects anyway: closing expunges everything."""
    if session.get_nested_transaction() is None:
        session.info.pop(_ATTACHED, None)
