"""The rules and macros API over real HTTP: admins manage rules (errors name the field), dry runs store
nothing, agents keep personal macros and apply shared ones from the ticket, counted and logged."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.desk.automation.models import Macro, Rule
from opsdesk.desk.models import Message, Status, Ticket
from tests.conftest import LiveServer
from tests.desk.automation.helpers import events, new_ticket, people
from tests.factories import make_token, make_user


def test_rules_api_creates_refuses_dry_runs_and_disables(
    live_server: LiveServer, db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    requester, agent = people(db, clock)
    admin = make_user(db, clock, Role.ADMIN, email="admin@desk.test")
    admin_token, agent_token = make_token(db, clock, admin), make_token(db, clock, agent)
    ticket = new_ticket(db, clock, requester, subject="VIP outage")
    db.commit()
    rule = {
        "name": "VIP outage",
        "conditions": {"all": [{"field": "subject", "op": "contains", "value": "outage"}]},
        "actions": [{"action": "set_field", "field": "priority", "value": "urgent"}],
    }
    with live_server.client(admin_token) as client, live_server.client(agent_token) as as_agent:
        assert as_agent.post("/api/v1/automation/rules", json=rule).status_code == 403
        bad = client.post(
            "/api/v1/automation/rules", json={**rule, "actions": [{"action": "email", "to": "x"}]}
        )
        assert bad.status_code == 422 and "actions[0]" in bad.text
        endless = client.post(
            "/api/v1/automation/rules",
            json={
                **rule,
                "kind": "time",
                "conditions": {"all": [{"field": "hours_since_created", "op": "gt", "value": 2}]},
                "actions": [{"action": "note", "template": "again"}],
            },
        )
        assert endless.status_code == 422 and "once_per_ticket" in endless.text
        report = client.post("/api/v1/automation/rules/dry-run", json={**rule, "days": 7})
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["tickets_changed"] == 1 and body["firings"][0]["ticket_id"] == ticket.id
        assert body["firings"][0]["changes"] == [
            {"action": "set_field", "field": "priority", "from": "normal", "to": "urgent"}
        ]
        created = client.post("/api/v1/automation/rules", json=rule)
        assert created.status_code == 201, created.text
        rule_id = created.json()["id"]
        assert client.post("/api/v1/automation/rules", json=rule).status_code == 409
        changed = client.patch(f"/api/v1/automation/rules/{rule_id}", json={"active": False})
        assert changed.status_code == 200 and changed.json()["active"] is False
        assert client.get("/api/v1/automation/rules/99999999999").status_code == 422
    with session_factory() as check:
        stored = check.scalar(select(Rule))
        assert stored is not None and not stored.active
        assert check.get_one(Ticket, ticket.id).priority.value == "normal"  # the dry run changed nothing


def test_an_agent_applies_a_shared_macro_in_one_call(
    live_server: LiveServer, db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    requester, agent = people(db, clock)
    admin = make_user(db, clock, Role.ADMIN, email="admin@desk.test")
    admin_token, agent_token = make_token(db, clock, admin), make_token(db, clock, agent)
    ticket = new_ticket(db, clock, requester)
    db.commit()
    macro = {
        "name": "Refund sent",
        "reply_template": "Hi {{ requester.first_name }}, your refund is on its way. {{ agent.first_name }}",
        "actions": [
            {"action": "add_tags", "tags": ["refund"]},
            {"action": "set_field", "field": "status", "value": "pending"},
        ],
        "shared": True,
    }
    with live_server.client(admin_token) as client, live_server.client(agent_token) as as_agent:
        assert as_agent.post("/api/v1/macros", json=macro).status_code == 403  # sharing is for admins
        mine = as_agent.post("/api/v1/macros", json={**macro, "name": "Mine", "shared": False})
        assert mine.status_code == 201
        bad = as_agent.post("/api/v1/macros", json={**macro, "shared": False, "reply_template": "{{ oops"})
        assert bad.status_code == 422 and "reply_template" in bad.text
        created = client.post("/api/v1/macros", json=macro)
        assert created.status_code == 201, created.text
        macro_id = created.json()["id"]
        # The admin does not see the agent's personal macro.
        assert [m["name"] for m in client.get("/api/v1/macros").json()] == ["Refund sent"]
        applied = as_agent.post(f"/api/v1/tickets/{ticket.id}/macros/{macro_id}")
        assert applied.status_code == 200, applied.text
        assert [c["action"] for c in applied.json()["changes"]] == ["add_tags", "set_field", "reply"]
    with session_factory() as check:
        stored = check.get_one(Ticket, ticket.id)
        assert stored.status is Status.PENDING and stored.tags == ["refund"]
        reply = check.scalars(
            select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
        ).all()[-1]
        assert reply.public and reply.author_id == agent.id
        assert reply.body_text == f"Hi Pat, your refund is on its way. {agent.name}"
        assert check.get_one(Macro, macro_id).usage_count == 1
        tagged = events(check, ticket.id, "tags_changed")
        assert tagged[0][1]["macro"] == "Refund sent"
        applied_events = check.scalars(select(Event).where(Event.type == "macro_applied")).all()
        assert len(applied_events) == 1 and applied_events[0].actor_id == agent.id
