"""Escalation and its way back: the reason stays on the ticket, an escalation without a group lands in
the default L2 group, and L2 can send a ticket back to L1 with a reason in the event log."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk import actions
from opsdesk.desk.access import TicketOp, can
from opsdesk.desk.models import Ticket
from tests.desk.test_actions import new_ticket, people
from tests.factories import make_user


def _ticket_events(db: Session, number: int, type: str) -> list[dict[str, object]]:
    query = select(Event.data).where(
        Event.subject_type == "ticket", Event.subject_id == number, Event.type == type
    )
    return list(db.scalars(query.order_by(Event.id)))


def test_an_escalation_without_a_group_goes_to_the_first_l2_group_and_keeps_its_reason(
    db: Session, clock: FixedClock
) -> None:
    requester, l1, _l2 = people(db, clock)
    advocates = core_actions.create_group(db, name="Advocates", tier=Tier.L1)
    engineers = core_actions.create_group(db, name="Engineers", tier=Tier.L2)
    core_actions.create_group(db, name="Engineers EMEA", tier=Tier.L2)
    ticket = new_ticket(db, clock, requester, group=advocates, assignee=l1)
    assert actions.default_l2_group(db) is engineers
    actions.escalate(db, ticket=ticket, reason="  SSO loop after IdP change ", actor=l1, clock=clock)
    db.commit()
    number = ticket.id
    db.expire_all()
    stored = db.get_one(Ticket, number)
    assert (stored.tier, stored.group_id, stored.assignee_id) == (Tier.L2, engineers.id, None)
    assert stored.escalation_reason == "SSO loop after IdP change"
    assert _ticket_events(db, number, "escalated")[-1]["from_group_id"] == advocates.id
    with pytest.raises(ValidationFailed):
        actions.escalate(db, ticket=new_ticket(db, clock, requester), reason="x", actor=l1, clock=clock,
                         group=advocates)  # fmt: skip


def test_l2_sends_a_ticket_back_to_the_l1_group_it_came_from_with_a_reason(
    db: Session, clock: FixedClock
) -> None:
    requester, l1, l2 = people(db, clock)
    advocates = core_actions.create_group(db, name="Advocates", tier=Tier.L1)
    engineers = core_actions.create_group(db, name="Engineers", tier=Tier.L2)
    ticket = new_ticket(db, clock, requester, group=advocates, assignee=l1)
    actions.escalate(db, ticket=ticket, reason="looks like a bug", actor=l1, clock=clock)
    actions.assign(db, ticket=ticket, assignee=l2, actor=l2, clock=clock)
    assert not can(l1, TicketOp.RETURN_TO_L1, ticket)
    assert can(l2, TicketOp.RETURN_TO_L1, ticket)
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test", password=None)
    assert can(lead, TicketOp.RETURN_TO_L1, ticket)
    with pytest.raises(ValidationFailed):
        actions.return_to_l1(db, ticket=ticket, reason=" ", actor=l2, clock=clock)
    with pytest.raises(ValidationFailed):
        actions.return_to_l1(db, ticket=ticket, reason="x", actor=l2, clock=clock, group=engineers)
    actions.return_to_l1(
        db, ticket=ticket, reason="Works as designed: the limit is 100", actor=l2, clock=clock
    )
    db.commit()
    number = ticket.id
    db.expire_all()
    stored = db.get_one(Ticket, number)
    assert (stored.tier, stored.group_id, stored.assignee_id) == (Tier.L1, advocates.id, None)
    assert (stored.return_reason, stored.escalation_reason) == ("Works as designed: the limit is 100", None)
    assert _ticket_events(db, number, "returned_to_l1") == [
        {"from_tier": "L2", "to_tier": "L1", "reason": "Works as designed: the limit is 100",
         "group_id": advocates.id},
    ]  # fmt: skip
    assert _ticket_events(db, number, "group_changed")[-1] == {"from": engineers.id, "to": advocates.id}
    with pytest.raises(Conflict):
        actions.return_to_l1(db, ticket=stored, reason="again", actor=l2, clock=clock)
    actions.escalate(db, ticket=stored, reason="reproduced after all", actor=l1, clock=clock)
    db.commit()
    db.expire_all()
    again = db.get_one(Ticket, number)
    assert (again.escalation_reason, again.return_reason) == ("reproduced after all", None)
