"""/api/v1/workforce/time-off over real HTTP: an agent requests, a lead approves or rejects, each step an
event; an approved absence makes routing see the agent off shift inside their published shifts, and a
re-published schedule does not bring the shift back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk.routing.models import AgentShift, PresenceStatus
from opsdesk.desk.routing.presence import set_presence
from opsdesk.desk.routing.state import load_agents, routing_settings
from opsdesk.workforce.time_off.models import TimeOffRequest, TimeOffStatus
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def _iso(value: datetime) -> str:
    return value.isoformat()


def _on_shift(db: Session, user_id: int, at: datetime) -> bool:
    db.expire_all()
    agents = load_agents(db, now=at, settings=routing_settings(db, at))
    db.rollback()  # hold no SQLite lock while the server writes
    return next(a.on_shift for a in agents if a.id == user_id)


def test_request_approve_and_routing_sees_the_absence(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    lead_user = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    set_presence(db, agent=ana, status=PresenceStatus.ONLINE, clock=clock, actor=ana)
    agent = live_server.client(make_token(db, clock, ana))
    lead = live_server.client(make_token(db, clock, lead_user))
    db.commit()
    now = clock.now()
    day = timedelta(days=1)
    # Ana's published schedule: 9 to 17 on each of the next five days.
    eight = timedelta(hours=8)
    shifts = [{"starts_at": _iso(now + i * day), "ends_at": _iso(now + i * day + eight)} for i in range(5)]
    week = {"from": _iso(now), "to": _iso(now + 5 * day), "shifts": shifts}
    assert lead.put(f"/api/v1/routing/agents/{ana.id}/shifts", json=week).status_code == 200
    assert _on_shift(db, ana.id, now + 2 * day + timedelta(hours=1))

    backwards = agent.post(
        "/api/v1/workforce/time-off",
        json={"kind": "vacation", "starts_at": _iso(now + 3 * day), "ends_at": _iso(now + 2 * day)},
    )
    assert backwards.status_code == 422 and "ends_at" in backwards.text
    assert (
        agent.post(
            "/api/v1/workforce/time-off",
            json={"kind": "holiday", "starts_at": _iso(now), "ends_at": _iso(now + day)},
        ).status_code
        == 422
    )
    made = agent.post(
        "/api/v1/workforce/time-off",
        json={
            "kind": "vacation",
            "starts_at": _iso(now + 2 * day),
            "ends_at": _iso(now + 3 * day),
            "note": "Sister's wedding",
        },
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    sick = agent.post(
        "/api/v1/workforce/time-off",
        json={"kind": "sick", "starts_at": _iso(now + 4 * day), "ends_at": _iso(now + 5 * day)},
    ).json()

    assert agent.get("/api/v1/workforce/time-off").status_code == 403
    assert agent.post(f"/api/v1/workforce/time-off/{request_id}/approve", json={}).status_code == 403
    pending = lead.get("/api/v1/workforce/time-off", params={"status": "pending"}).json()
    assert [r["id"] for r in pending] == [request_id, sick["id"]]

    approved = lead.post(f"/api/v1/workforce/time-off/{request_id}/approve", json={"note": "Enjoy"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    again = lead.post(f"/api/v1/workforce/time-off/{request_id}/reject", json={})
    assert again.status_code == 409
    assert lead.post(f"/api/v1/workforce/time-off/{sick['id']}/reject", json={}).status_code == 200
    assert lead.post("/api/v1/workforce/time-off/999999/approve", json={}).status_code == 404
    mine = {r["id"]: r["status"] for r in agent.get("/api/v1/workforce/time-off/mine").json()}
    assert mine == {request_id: "approved", sick["id"]: "rejected"}

    db.expire_all()
    assert db.get_one(TimeOffRequest, request_id).status is TimeOffStatus.APPROVED
    events = db.scalars(
        select(Event.type).where(Event.subject_type == "time_off_request").order_by(Event.id)
    ).all()
    assert events == ["time_off_requested", "time_off_requested", "time_off_approved", "time_off_rejected"]

    # Routing: off shift inside the approved day, still on shift the day before and on the rejected day.
    assert not _on_shift(db, ana.id, now + 2 * day + timedelta(hours=1))
    assert _on_shift(db, ana.id, now + day + timedelta(hours=1))
    assert _on_shift(db, ana.id, now + 4 * day + timedelta(hours=1))
    # Re-publishing the week replaces the shifts but keeps the approved absence.
    assert lead.put(f"/api/v1/routing/agents/{ana.id}/shifts", json=week).status_code == 200
    db.expire_all()
    assert db.scalars(select(AgentShift).where(AgentShift.absence.is_(True))).one().user_id == ana.id
    assert not _on_shift(db, ana.id, now + 2 * day + timedelta(hours=1))


def test_nobody_approves_their_own_time_off(live_server: LiveServer, db: Session, clock: FixedClock) -> None:
    lead_user = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    requester = live_server.client(make_token(db, clock, make_user(db, clock, Role.REQUESTER)))
    lead = live_server.client(make_token(db, clock, lead_user))
    db.commit()
    now = clock.now()
    body = {"kind": "training", "starts_at": _iso(now), "ends_at": _iso(now + timedelta(hours=4))}
    assert requester.post("/api/v1/workforce/time-off", json=body).status_code == 403
    own = lead.post("/api/v1/workforce/time-off", json=body).json()
    assert lead.post(f"/api/v1/workforce/time-off/{own['id']}/approve", json={}).status_code == 403
    db.expire_all()
    assert db.get_one(TimeOffRequest, own["id"]).status is TimeOffStatus.PENDING
