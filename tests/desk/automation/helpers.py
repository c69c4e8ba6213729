"""Arranging automation tests: people, a group, and the events of a ticket."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier, User
from opsdesk.desk import actions
from opsdesk.desk.models import Channel, Ticket
from tests.factories import make_user


def people(db: Session, clock: FixedClock) -> tuple[User, User]:
    org = core_actions.create_organisation(db, name="Acme", clock=clock)
    requester = make_user(
        db, clock, Role.REQUESTER, email="pat.smith@acme.test", organisation=org, password=None
    )
    requester.name = "Pat Smith"
    agent = make_user(db, clock, Role.AGENT, tier=Tier.L1, email="l1@desk.test", password=None)
    core_actions.create_group(db, name="Billing", tier=Tier.L1)
    core_actions.create_group(db, name="Engineering", tier=Tier.L2)
    db.flush()
    return requester, agent


def new_ticket(db: Session, clock: FixedClock, requester: User, **kw: Any) -> Ticket:
    kw.setdefault("body_text", "My invoice is wrong")
    kw.setdefault("subject", "Invoice")
    return actions.create_ticket(db, requester=requester, channel=Channel.EMAIL, clock=clock, **kw)


def events(db: Session, ticket_id: int, type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    db.flush()
    query = select(Event).where(Event.subject_type == "ticket", Event.subject_id == ticket_id)
    if type:
        query = query.where(Event.type == type)
    return [(e.type, e.data) for e in db.scalars(query.order_by(Event.id))]
