"""Playbooks, tasks and success plans over real HTTP against the real application and database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.success.playbooks.test_engine import book


def test_playbook_crud_run_tasks_and_plans(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    account = book(db, clock)
    csm = account.owner
    assert csm is not None
    lead = make_user(db, clock, Role.CS_LEAD, email="lead@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    as_lead = live_server.client(make_token(db, clock, lead))
    as_csm = live_server.client(make_token(db, clock, csm))
    as_agent = live_server.client(make_token(db, clock, agent))
    db.commit()

    body = {
        "name": "Renewal 90",
        "trigger_kind": "renewal_within",
        "trigger_params": {"days": 90},
        "templates": [
            {
                "title": "Renewal call",
                "due_offset_days": 14,
                "email_subject": "Renewing {account_name}",
                "email_body": "Hi {contact_name}, see you before {renewal_date}.",
            },
            {"title": "Exec sponsor note", "owner_rule": "named_user", "owner_user_id": lead.id},
        ],
    }
    assert as_csm.post("/api/v1/playbooks", json=body).status_code == 403
    created = as_lead.post("/api/v1/playbooks", json=body)
    assert created.status_code == 201, created.text
    playbook = created.json()
    assert [t["title"] for t in playbook["templates"]] == ["Renewal call", "Exec sponsor note"]
    assert as_lead.post("/api/v1/playbooks", json=body).status_code == 409

    bad = as_lead.post("/api/v1/playbooks", json={**body, "name": "x", "trigger_params": {"days": 0}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "days"
    bad = as_lead.post(
        "/api/v1/playbooks",
        json={
            **body,
            "name": "y",
            "templates": [{"title": "t", "email_subject": "{account.__class__}", "email_body": "b"}],
        },
    )
    assert bad.status_code == 422 and "unknown placeholder" in bad.json()["error"]["message"]
    assert as_lead.post("/api/v1/playbooks", json={**body, "name": "z", "surprise": 1}).status_code == 422

    later = (clock.now() + timedelta(days=1)).isoformat()
    assert as_csm.post("/api/v1/playbooks/run", json={"now": later}).status_code == 422
    run = as_csm.post("/api/v1/playbooks/run", json={})
    assert run.status_code == 200, run.text
    assert run.json()["fired"] == 1 and run.json()["tasks_created"] == 2
    assert as_csm.post("/api/v1/playbooks/run", json={}).json()["fired"] == 0
    assert as_agent.post("/api/v1/playbooks/run", json={}).status_code == 403
    episodes = as_csm.get(f"/api/v1/playbooks/{playbook['id']}/episodes").json()
    assert [(e["account_id"], e["episode_key"]) for e in episodes] == [(account.id, "renewal:2026-04-30")]

    mine = as_csm.get("/api/v1/tasks", params={"mine": True}).json()
    assert [t["title"] for t in mine] == ["Renewal call"]
    assert mine[0]["email_subject"] == "Renewing Acme Health"
    assert mine[0]["email_body"] == "Hi Hana HR, see you before 2026-04-30."
    assert [t["title"] for t in as_lead.get("/api/v1/tasks", params={"mine": True}).json()] == [
        "Exec sponsor note"
    ]
    assert as_csm.get("/api/v1/tasks", params={"overdue": True}).json() == []

    clock.advance(timedelta(days=20))
    overdue = as_csm.get("/api/v1/tasks", params={"overdue": True, "mine": True}).json()
    assert [t["id"] for t in overdue] == [mine[0]["id"]]
    done = as_csm.patch(f"/api/v1/tasks/{mine[0]['id']}", json={"status": "done"})
    assert done.status_code == 200 and done.json()["completed_at"] is not None
    assert as_csm.get("/api/v1/tasks", params={"overdue": True, "mine": True}).json() == []
    assert [t["title"] for t in as_csm.get("/api/v1/tasks", params={"overdue": True}).json()] == [
        "Exec sponsor note"
    ]
    completed = db.scalars(select(Event).where(Event.type == "task_completed")).all()
    assert [e.data["task_id"] for e in completed] == [mine[0]["id"]] and completed[0].subject_id == account.id
    assert as_csm.patch("/api/v1/tasks/9999", json={"status": "done"}).status_code == 404
    assert as_csm.patch(f"/api/v1/tasks/{mine[0]['id']}", json={"status": "finished"}).status_code == 422

    manual = as_csm.post(
        "/api/v1/tasks", json={"account_id": account.id, "title": "QBR deck", "due_on": "2026-04-01"}
    )
    assert manual.status_code == 201 and manual.json()["playbook_id"] is None
    assert (
        as_csm.post(
            "/api/v1/tasks", json={"account_id": 999, "title": "x", "due_on": "2026-04-01"}
        ).status_code
        == 422
    )

    patched = as_lead.patch(f"/api/v1/playbooks/{playbook['id']}", json={"active": False})
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert as_lead.get(f"/api/v1/playbooks/{playbook['id']}").json()["active"] is False
    assert as_lead.delete(f"/api/v1/playbooks/{playbook['id']}").status_code == 204
    assert as_lead.get("/api/v1/playbooks").json() == []
    assert len(as_csm.get("/api/v1/tasks", params={"account_id": account.id}).json()) == 3

    plan = as_csm.post(
        "/api/v1/success-plans",
        json={
            "account_id": account.id,
            "title": "Year-one outcomes",
            "objectives": [{"objective": "30% of members engaged", "target_date": "2026-09-30"}],
        },
    )
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    assert plan.json()["owner_id"] == csm.id
    added = as_csm.post(
        f"/api/v1/success-plans/{plan_id}/objectives",
        json={"objective": "Launch the diabetes programme", "target_date": "2026-06-30"},
    )
    assert added.status_code == 201
    changed = as_csm.patch(
        f"/api/v1/success-plans/{plan_id}/objectives/{added.json()['id']}", json={"status": "at_risk"}
    )
    assert changed.status_code == 200 and changed.json()["status"] == "at_risk"
    got = as_csm.get("/api/v1/success-plans", params={"account_id": account.id}).json()
    assert [o["status"] for o in got[0]["objectives"]] == ["not_started", "at_risk"]
    assert (
        as_csm.patch(
            f"/api/v1/success-plans/{plan_id}/objectives/999", json={"status": "achieved"}
        ).status_code
        == 404
    )
