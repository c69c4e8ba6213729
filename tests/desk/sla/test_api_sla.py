"""The SLA endpoints over real HTTP against the real application and database."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel
from tests.conftest import LiveServer
from tests.factories import make_token, make_user

CHICAGO_HOURS = {
    "name": "Chicago office",
    "timezone": "America/Chicago",
    "intervals": [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
    "holidays": ["2026-12-25"],
}


def test_admin_sets_up_hours_and_policies_and_staff_read_a_tickets_sla(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    admin = make_user(db, clock, Role.ADMIN, email="admin@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    stranger = make_user(db, clock, Role.REQUESTER, email="stranger@example.com")
    tokens = {u.email: make_token(db, clock, u) for u in (admin, agent, requester, stranger)}
    db.commit()
    as_admin = live_server.client(tokens["admin@example.com"])
    as_agent = live_server.client(tokens["agent@example.com"])
    as_requester = live_server.client(tokens["req@example.com"])
    as_stranger = live_server.client(tokens["stranger@example.com"])

    created = as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["current"]["intervals"][0] == {"weekday": 0, "start": "08:00", "end": "17:00"}
    assert schedule["current"]["holidays"] == ["2026-12-25"]

    policy = as_admin.post(
        "/api/v1/sla/policies",
        json={
            "name": "Business hours",
            "channels": ["email", "web"],
            "targets": {"normal": {"first_reply": 120, "resolution": 1440}, "urgent": {"first_reply": 30}},
            "schedule_id": schedule["id"],
            "pausing_statuses": ["pending", "on_hold"],
        },
    )
    assert policy.status_code == 201, policy.text
    assert policy.json()["targets"] == {
        "normal": {"first_reply": 120, "resolution": 1440},
        "urgent": {"first_reply": 30},
    }
    assert policy.json()["schedule_name"] == "Chicago office"
    assert [p["name"] for p in as_agent.get("/api/v1/sla/policies").json()] == ["Business hours"]
    assert [s["name"] for s in as_agent.get("/api/v1/business-schedules").json()] == ["Chicago office"]

    # Monday 2 March 09:00 UTC is 03:00 CST: the clock starts at 08:00 CST (14:00 UTC); 2 business hours
    # later the first reply is due at 10:00 CST = 16:00 UTC.
    ticket = desk.create_ticket(
        db,
        requester=requester,
        subject="Invoice question",
        body_text="Where is it?",
        channel=Channel.EMAIL,
        clock=clock,
    )
    db.commit()
    clock.advance(timedelta(hours=6))  # 15:00 UTC = 09:00 CST: one business hour used, one left
    sla = as_agent.get(f"/api/v1/tickets/{ticket.id}/sla")
    assert sla.status_code == 200, sla.text
    body = sla.json()
    assert (body["ticket"], body["policy_name"], body["calendar"]) == (
        ticket.id,
        "Business hours",
        "Chicago office",
    )
    first, resolution = body["metrics"]
    assert first["metric"] == "first_reply"
    assert first["status"] == "breaching_soon"  # 60 minutes left, within the default 60-minute warning
    assert first["due_at"] == "2026-03-02T16:00:00Z"
    assert (first["elapsed_minutes"], first["remaining_minutes"], first["calendar_elapsed_minutes"]) == (
        60,
        60,
        360,
    )
    assert (resolution["metric"], resolution["status"], resolution["target_minutes"]) == (
        "resolution",
        "active",
        1440,
    )

    # Requesters never see SLA internals; someone who may not see the ticket learns nothing about it.
    assert as_requester.get(f"/api/v1/tickets/{ticket.id}/sla").status_code == 403
    assert as_stranger.get(f"/api/v1/tickets/{ticket.id}/sla").status_code == 404
    assert as_agent.get("/api/v1/tickets/999999/sla").status_code == 404
    assert as_requester.get("/api/v1/sla/policies").status_code == 403
    assert live_server.client().get("/api/v1/sla/policies").status_code == 401


def test_bad_input_gets_a_clear_4xx(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    admin = make_user(db, clock, Role.ADMIN, email="admin@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    as_admin = live_server.client(make_token(db, clock, admin))
    as_agent = live_server.client(make_token(db, clock, agent))
    db.commit()

    def error(response: httpx.Response) -> tuple[int, str | None]:
        return response.status_code, response.json()["error"]["field"]

    bad_zone = as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS | {"timezone": "Mars/Olympus"})
    assert error(bad_zone) == (422, "timezone")
    bad_time = CHICAGO_HOURS | {"intervals": [{"weekday": 0, "start": "08:00", "end": "7pm"}]}
    assert error(as_admin.post("/api/v1/business-schedules", json=bad_time)) == (422, "intervals[0].end")
    assert error(as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS | {"colour": "red"})) == (
        422,
        "colour",
    )
    assert as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS).status_code == 201
    assert error(as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS)) == (409, "name")

    policy = {"name": "P", "targets": {"urgent": {"first_reply": 30}}}
    assert as_agent.post("/api/v1/sla/policies", json=policy).status_code == 403
    assert error(as_admin.post("/api/v1/sla/policies", json=policy | {"schedule_id": 4242})) == (
        404,
        "schedule_id",
    )
    assert error(as_admin.post("/api/v1/sla/policies", json=policy | {"targets": {}})) == (422, "targets")
    assert error(as_admin.post("/api/v1/sla/policies", json=policy | {"channels": ["fax"]}))[0] == 422
    zero = policy | {"targets": {"urgent": {"first_reply": 0}}}
    assert error(as_admin.post("/api/v1/sla/policies", json=zero)) == (422, "targets.urgent.first_reply")
    assert as_admin.post("/api/v1/sla/policies", json=policy).status_code == 201
    assert error(as_admin.post("/api/v1/sla/policies", json=policy)) == (409, "name")


def test_changing_hours_adds_a_dated_version(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    admin = make_user(db, clock, Role.ADMIN, email="admin@example.com")
    as_admin = live_server.client(make_token(db, clock, admin))
    db.commit()
    schedule = as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS).json()
    change = {"timezone": "America/Chicago", "always_open": True, "effective_from": "2026-04-01T05:00:00Z"}
    changed = as_admin.post(f"/api/v1/business-schedules/{schedule['id']}/hours", json=change)
    assert changed.status_code == 201, changed.text
    body = changed.json()
    assert [v["always_open"] for v in body["versions"]] == [False, True]
    assert body["current"]["always_open"] is False  # the new hours start in April
    past = change | {"effective_from": "2026-01-01T00:00:00Z"}
    refused = as_admin.post(f"/api/v1/business-schedules/{schedule['id']}/hours", json=past)
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "effective_from")
    assert as_admin.get(f"/api/v1/business-schedules/{schedule['id']}").json()["versions"] == body["versions"]


def test_policies_are_edited_and_removed(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    admin = make_user(db, clock, Role.ADMIN, email="admin@example.com")
    as_admin = live_server.client(make_token(db, clock, admin))
    db.commit()
    schedule = as_admin.post("/api/v1/business-schedules", json=CHICAGO_HOURS).json()
    first = as_admin.post(
        "/api/v1/sla/policies",
        json={"name": "A", "targets": {"low": {"resolution": 60}}, "schedule_id": schedule["id"]},
    ).json()
    as_admin.post("/api/v1/sla/policies", json={"name": "B", "targets": {"low": {"resolution": 60}}})
    edited = as_admin.patch(
        f"/api/v1/sla/policies/{first['id']}",
        json={"position": 1, "schedule_id": None, "priorities": ["urgent"], "active": False},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["position"], body["schedule_name"], body["priorities"], body["active"]) == (
        1,
        None,
        ["urgent"],
        False,
    )
    assert body["targets"] == {"low": {"resolution": 60}}  # untouched
    assert as_admin.patch(f"/api/v1/sla/policies/{first['id']}", json={"name": None}).status_code == 422
    assert [p["name"] for p in as_admin.get("/api/v1/sla/policies").json()] == ["B", "A"]
    assert as_admin.delete(f"/api/v1/business-schedules/{schedule['id']}").status_code == 204
    assert as_admin.delete(f"/api/v1/sla/policies/{first['id']}").status_code == 204
    assert as_admin.get(f"/api/v1/sla/policies/{first['id']}").status_code == 404
    assert as_admin.delete("/api/v1/business-schedules/77").status_code == 404
