"""Escalation over the API: the reason is on the ticket for staff (never for the requester), an
escalation without a group lands in the default L2 group, and L2 (not L1) sends a ticket back."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.desk.models import Ticket
from tests.web.test_api_tickets import Desk, create, desk

__all__ = ["desk"]  # the fixture, shared with the tickets API tests


def test_escalation_reason_default_group_and_return_to_l1(desk: Desk, db: Session) -> None:
    agent, l2, pat = desk.as_("agent"), desk.as_("l2"), desk.as_("pat")
    number = create(pat)["number"]
    escalated = agent.post(f"/api/v1/tickets/{number}/escalate", json={"reason": "Export 500s for SSO users"})
    assert escalated.status_code == 200, escalated.text
    body = escalated.json()
    assert (body["tier"], body["group_id"]) == ("L2", desk.l2_group.id)
    assert body["escalation_reason"] == "Export 500s for SSO users"
    assert agent.get(f"/api/v1/tickets/{number}").json()["escalation_reason"] == "Export 500s for SSO users"
    seen_by_requester = pat.get(f"/api/v1/tickets/{number}").json()
    assert (seen_by_requester["escalation_reason"], seen_by_requester["tier"]) == (None, None)

    refused = agent.post(f"/api/v1/tickets/{number}/return-to-l1", json={"reason": "not a bug"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    missing = l2.post(f"/api/v1/tickets/{number}/return-to-l1", json={})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    returned = l2.post(f"/api/v1/tickets/{number}/return-to-l1", json={"reason": "Fixed by clearing cache"})
    assert returned.status_code == 200, returned.text
    assert (returned.json()["tier"], returned.json()["return_reason"]) == ("L1", "Fixed by clearing cache")
    assert returned.json()["escalation_reason"] is None
    again = l2.post(f"/api/v1/tickets/{number}/return-to-l1", json={"reason": "again"})
    assert again.status_code == 409

    db.expire_all()
    stored = db.get_one(Ticket, number)
    assert (stored.tier.value, stored.return_reason) == ("L1", "Fixed by clearing cache")
    logged = db.scalars(select(Event).where(Event.subject_id == number, Event.type == "returned_to_l1")).one()
    assert (logged.actor_id, logged.data["reason"]) == (desk.users["l2"].id, "Fixed by clearing cache")
