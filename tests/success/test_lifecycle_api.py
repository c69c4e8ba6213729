"""The lifecycle API over real HTTP: phase owners, checklists (leads only change them), a hand-off
refused with the field at fault and then stored with the next owner's tasks, and the timing report."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from opsdesk.success.lifecycle import queries
from opsdesk.success.models import Stage
from opsdesk.success.playbooks.models import Task
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.signin_http import sign_in_http


def test_owners_checklists_hand_off_and_report_over_http(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    csm = make_user(db, clock, Role.CSM, email="cleo@example.com")
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@example.com")
    agent = make_user(db, clock, Role.AGENT, email="ana@example.com")
    account = success.create_account(
        db,
        name="Acme",
        covered_lives=50,
        owner=csm,
        stage=Stage.ADOPTION,
        stage_since=date(2025, 3, 2),
        clock=clock,
    )
    as_csm, as_lead, as_agent = (live_server.client(make_token(db, clock, u)) for u in (csm, lead, agent))
    db.commit()
    base = f"/api/v1/accounts/{account.id}"

    assert as_agent.get(f"{base}/lifecycle").status_code == 403
    bad = as_csm.put(f"{base}/phase-owners", json={"renewal": agent.id})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "renewal"
    assert as_csm.put(f"{base}/phase-owners", json={"post_launch": lead.id}).status_code == 422
    owners = as_csm.put(f"{base}/phase-owners", json={"renewal": lead.id})
    assert owners.status_code == 200, owners.text
    view = owners.json()
    assert {o["phase"]: o["user_id"] for o in view["owners"]} == {
        "implementation": None,
        "post_launch": csm.id,
        "renewal": lead.id,
    }
    assert view["next_stages"][0] == "renewal"
    assert view["history"] == [{"stage": "adoption", "start": "2025-03-02", "end": None, "days": 365}]

    checklist = {
        "items": [{"kind": "check", "text": "ARR confirmed"}, {"kind": "task", "text": "Call", "due_days": 1}]
    }
    assert as_csm.put("/api/v1/lifecycle/checklists/adoption/renewal", json=checklist).status_code == 403
    assert as_lead.put("/api/v1/lifecycle/checklists/adoption/adoption", json=checklist).status_code == 422
    assert as_lead.put("/api/v1/lifecycle/checklists/adoption/nowhere", json=checklist).status_code == 422
    saved = as_lead.put("/api/v1/lifecycle/checklists/adoption/renewal", json=checklist)
    assert saved.status_code == 200 and saved.json()["default"] is False
    assert as_csm.get("/api/v1/lifecycle/checklists/adoption/renewal").json()["items"][1]["text"] == "Call"

    refused = as_csm.post(f"{base}/hand-offs", json={"to": "renewal", "checked": []})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "checked"
    assert "ARR confirmed" in refused.json()["error"]["message"]
    future = as_csm.post(f"{base}/hand-offs", json={"to": "renewal", "checked": [0], "on": "2026-04-01"})
    assert future.status_code == 422 and future.json()["error"]["field"] == "on"
    done = as_csm.post(f"{base}/hand-offs", json={"to": "renewal", "checked": [0], "note": "Budget cut risk"})
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["next_owner_id"] == lead.id and body["checklist"] == [
        {"item": "ARR confirmed", "required": True, "done": True}
    ]
    assert [(t["title"], t["owner_id"], t["due_on"]) for t in body["tasks"]] == [
        ("Call", lead.id, "2026-03-03")
    ]
    db.expire_all()
    stored = db.scalars(select(Task).where(Task.account_id == account.id)).one()
    assert stored.owner_id == lead.id and "Budget cut risk" in stored.description

    report = as_lead.get("/api/v1/lifecycle/report", params={"segment": "Small business"}).json()
    assert [a["name"] for a in report["accounts"]] == ["Acme"]
    assert report["accounts"][0]["days_by_stage"] == {"adoption": 365, "renewal": 0}
    assert report["segments"][0]["median_days"]["adoption"] == 365
    assert as_lead.get("/api/v1/lifecycle/report", params={"csm_id": 0}).status_code == 422


def test_leads_edit_a_checklist_on_its_page_and_csms_only_read_it(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    make_user(db, clock, Role.CSM, email="cleo@example.com")
    make_user(db, clock, Role.CS_LEAD, email="lee@example.com")
    db.commit()
    path = "/customers/lifecycle/checklists"
    query = {"from_stage": "adoption", "to": "renewal"}
    with live_server.client() as lead, live_server.client() as csm:
        sign_in_http(lead, "lee@example.com")
        sign_in_http(csm, "cleo@example.com")
        shown = lead.get(path, params=query).text
        assert "task 7: Plan the renewal conversation" in shown and "(the default)" in shown
        token = re.search(r'name="csrf_token" value="([^"]+)"', shown)
        assert token is not None
        form = {"csrf_token": token.group(1), **query}
        refused = lead.post(path, data={**form, "lines": "check: ok\nperhaps: no"})
        assert refused.status_code == 422 and "line 2" in refused.text and "perhaps: no" in refused.text
        saved = lead.post(
            path, data={**form, "lines": "check: Renewal date agreed\ntask 3: Call the sponsor"}
        )
        assert saved.status_code == 303
        read_only = csm.get(path, params=query).text
        assert "Call the sponsor" in read_only and 'data-testid="save-checklist"' not in read_only
        csm_form = re.search(r'name="csrf_token" value="([^"]+)"', csm.get("/customers").text)
        assert csm_form is not None
        assert csm.post(path, data={**form, "csrf_token": csm_form.group(1), "reset": "1"}).status_code == 403
    items, default = queries.checklist(db, Stage.ADOPTION, Stage.RENEWAL)
    assert not default and [(i.kind, i.text) for i in items] == [
        ("check", "Renewal date agreed"),
        ("task", "Call the sponsor"),
    ]
