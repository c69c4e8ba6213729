"""Arranging solved tickets for the CSAT tests, through the real desk actions."""

from __future__ import annotations

from itertools import count

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Organisation, Role, User
from opsdesk.desk import actions
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from tests.factories import make_user

_serial = count(1)


def person(db: Session, clock: FixedClock, role: Role, **kw: object) -> User:
    """A user with an address of its own (the factory's default may repeat within one test)."""
    return make_user(db, clock, role, email=f"{role.value}{next(_serial)}@acme.example", **kw)  # type: ignore[arg-type]


def solved_ticket(
    db: Session,
    clock: FixedClock,
    *,
    requester: User | None = None,
    agent: User | None = None,
    replied: bool = True,
    organisation: Organisation | None = None,
) -> Ticket:
    """A ticket from a customer, answered publicly by an agent (unless ``replied`` is False), solved now."""
    requester = requester or person(db, clock, Role.REQUESTER, organisation=organisation)
    agent = agent or person(db, clock, Role.AGENT)
    ticket = actions.create_ticket(
        db, requester=requester, subject="Card declined", body_text="help", channel=Channel.EMAIL, clock=clock
    )
    if replied:
        actions.add_message(
            db,
            ticket=ticket,
            author=agent,
            author_kind=AuthorKind.AGENT,
            public=True,
            channel=Channel.WEB,
            clock=clock,
            body_text="Fixed it for you",
        )
    actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
    db.flush()
    return ticket
