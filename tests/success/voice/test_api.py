"""Escalations, NPS responses and feedback over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.success.playbooks.test_engine import book


def test_escalations_nps_and_feedback(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    account = book(db, clock)
    other = success.create_account(db, name="Tiny Co", covered_lives=40, clock=clock)
    csm = account.owner
    assert csm is not None
    sponsor = make_user(db, clock, Role.CS_LEAD, email="vp@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    as_csm = live_server.client(make_token(db, clock, csm))
    as_agent = live_server.client(make_token(db, clock, agent))
    db.commit()

    opened = as_csm.post(
        "/api/v1/escalations",
        json={
            "account_id": account.id,
            "severity": "sev1",
            "title": "Eligibility file rejected",
            "executive_sponsor_id": sponsor.id,
            "ticket_numbers": [1201, 1188],
        },
    )
    assert opened.status_code == 201, opened.text
    escalation = opened.json()
    assert escalation["ticket_numbers"] == [1188, 1201] and escalation["owner_id"] == csm.id
    assert as_agent.get("/api/v1/escalations").status_code == 403
    bad = as_csm.post(
        "/api/v1/escalations", json={"account_id": account.id, "severity": "sev9", "title": "x"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "severity"
    assert (
        as_csm.post(
            "/api/v1/escalations",
            json={"account_id": account.id, "severity": "sev2", "title": "x", "owner_id": 999},
        ).json()["error"]["field"]
        == "owner_id"
    )

    clock.advance(timedelta(hours=3))
    note = as_csm.post(
        f"/api/v1/escalations/{escalation['id']}/timeline",
        json={"note": "Vendor re-sent the file", "at": (clock.now() - timedelta(hours=1)).isoformat()},
    )
    assert note.status_code == 201, note.text
    assert (
        as_csm.post(f"/api/v1/escalations/{escalation['id']}/timeline", json={"note": ""}).status_code == 422
    )
    resolved = as_csm.patch(
        f"/api/v1/escalations/{escalation['id']}", json={"status": "resolved", "note": "file accepted"}
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_at"] is not None
    timeline = as_csm.get(f"/api/v1/escalations/{escalation['id']}").json()["timeline"]
    assert [e["note"] for e in timeline] == [
        "opened as sev1",
        "Vendor re-sent the file",
        "status open -> resolved: file accepted",
    ]
    assert [e["id"] for e in as_csm.get("/api/v1/escalations", params={"ticket": 1188}).json()] == [
        escalation["id"]
    ]
    assert as_csm.get("/api/v1/escalations", params={"status": "open"}).json() == []
    assert as_csm.get("/api/v1/escalations/999").status_code == 404

    nps = as_csm.post(
        "/api/v1/nps-responses",
        json={
            "account_id": account.id,
            "score": 2,
            "responded_at": clock.now().isoformat(),
            "comment": "slow",
        },
    )
    assert nps.status_code == 201, nps.text
    assert [r["score"] for r in as_csm.get(f"/api/v1/accounts/{account.id}/nps-responses").json()] == [2]
    assert (
        as_csm.post(
            "/api/v1/nps-responses",
            json={"account_id": account.id, "score": 11, "responded_at": clock.now().isoformat()},
        ).status_code
        == 422
    )

    request = as_csm.post(
        "/api/v1/feedback",
        json={
            "title": "Spanish content",
            "product_area": "Content",
            "asks": [{"account_id": account.id, "ticket_number": 1201}],
        },
    )
    assert request.status_code == 201, request.text
    request_id = request.json()["id"]
    second = as_csm.post("/api/v1/feedback", json={"title": "SSO", "product_area": "Platform"}).json()
    assert (
        as_csm.post(f"/api/v1/feedback/{second['id']}/asks", json={"account_id": other.id}).status_code == 201
    )
    dup = as_csm.post(f"/api/v1/feedback/{request_id}/asks", json={"account_id": account.id})
    assert dup.status_code == 409
    ranking = as_csm.get("/api/v1/feedback/ranking")
    assert ranking.status_code == 200, ranking.text
    body = ranking.json()
    assert [r["title"] for r in body["requests"]] == ["Spanish content", "SSO"]
    assert body["requests"][0]["arr_cents"] == 3_600_000 and body["requests"][0]["covered_lives"] == 1000
    assert [a["product_area"] for a in body["product_areas"]] == ["Content", "Platform"]

    declined = as_csm.patch(f"/api/v1/feedback/{request_id}", json={"status": "declined"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert [r["title"] for r in as_csm.get("/api/v1/feedback/ranking").json()["requests"]] == ["SSO"]
    closed_too = as_csm.get("/api/v1/feedback/ranking", params={"include_closed": True}).json()
    assert len(closed_too["requests"]) == 2
    assert [
        r["title"] for r in as_csm.get("/api/v1/feedback", params={"product_area": "Platform"}).json()
    ] == ["SSO"]
    assert as_csm.delete(f"/api/v1/feedback/{second['id']}/asks/{other.id}").status_code == 204
    assert as_csm.get(f"/api/v1/feedback/{second['id']}").json()["asks"] == []
    assert as_csm.delete(f"/api/v1/feedback/{request_id}").status_code == 204
    assert as_csm.get(f"/api/v1/feedback/{request_id}").status_code == 404
