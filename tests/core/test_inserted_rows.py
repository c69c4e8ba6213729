"""Rows written with Core and attached as inserted behave like rows a flush wrote: nothing left to
load, nothing written twice, and gone from the session when their transaction or savepoint rolls back."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.inserted_rows import column_values
from opsdesk.core.models import Role, User
from opsdesk.desk import actions
from opsdesk.desk.models import Channel, Message, Ticket, TicketTag
from tests.factories import make_user


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def requester(db: Session, clock: FixedClock) -> User:
    person = make_user(db, clock, Role.REQUESTER, email="pat@acme.test")
    db.commit()
    return person


def new_ticket(db: Session, clock: FixedClock, requester: User, subject: str = "Export fails") -> Ticket:
    return actions.create_ticket(
        db,
        requester=requester,
        subject=subject,
        body_text="It fails",
        channel=Channel.API,
        clock=clock,
        tags=["b", "a"],
    )


def count(db: Session, model: type[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_a_created_ticket_is_loaded_and_never_written_again(
    db: Session, clock: FixedClock, requester: User
) -> None:
    ticket = new_ticket(db, clock, requester)
    with statements(db) as seen:
        assert ticket.subject == "Export fails" and ticket.requester.email == "pat@acme.test"
        assert ticket.tags == ["b", "a"] and [m.body_text for m in ticket.messages] == ["It fails"]
        assert ticket.solved_at is None and ticket.assignee is None and ticket.group is None
        db.flush()
    assert seen == []
    db.commit()
    assert (count(db, Ticket), count(db, Message), count(db, TicketTag)) == (1, 1, 2)
    assert db.get(Ticket, ticket.id) is ticket


def test_a_rolled_back_creation_leaves_nothing_in_the_session(
    db: Session, clock: FixedClock, requester: User
) -> None:
    ticket = new_ticket(db, clock, requester)
    message = ticket.messages[0]
    db.rollback()
    assert ticket not in db and message not in db
    again = new_ticket(db, clock, requester, "Second try")  # SQLite may hand out the same id again
    db.commit()
    assert db.get(Ticket, again.id) is again and count(db, Ticket) == 1


def test_a_savepoint_rollback_takes_only_what_it_wrote(
    db: Session, clock: FixedClock, requester: User
) -> None:
    kept = new_ticket(db, clock, requester, "Kept")
    savepoint = db.begin_nested()
    undone = new_ticket(db, clock, requester, "Undone")
    savepoint.rollback()
    assert kept in db and undone not in db
    released = db.begin_nested()
    inner = new_ticket(db, clock, requester, "Released, then the whole transaction rolls back")
    released.commit()
    assert inner in db
    db.rollback()
    assert kept not in db and inner not in db


def test_after_commit_a_later_rollback_keeps_the_committed_objects(
    db: Session, clock: FixedClock, requester: User
) -> None:
    ticket = new_ticket(db, clock, requester)
    db.commit()
    new_ticket(db, clock, requester, "Not committed")
    db.rollback()
    assert ticket in db and db.get(Ticket, ticket.id) is ticket


def test_committed_objects_are_not_held_beyond_the_session_s_own_weak_references(
    db: Session, clock: FixedClock, requester: User
) -> None:
    """A long-lived session (an import, the demo loader) must not keep every ticket it ever created."""
    ticket = new_ticket(db, clock, requester)
    db.commit()
    gone = weakref.ref(ticket)
    del ticket
    gc.collect()
    assert gone() is None


def test_a_column_left_unset_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"TicketTag\.tag must be set"):
        column_values(TicketTag(ticket_id=1))
