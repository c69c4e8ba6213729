"""/api/v1/workforce/shift-swaps over real HTTP: Ana offers a shift to Bo, Bo accepts, a lead approves and
the shift is Bo's in routing (each step an event); offers of others' shifts, of time off, double offers
and decisions out of turn are refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk.routing.admin import publish_absence, publish_shifts
from opsdesk.desk.routing.models import AgentShift
from opsdesk.desk.routing.schemas import ShiftsIn
from opsdesk.workforce.swaps.models import ShiftSwap, SwapStatus
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_offer_accept_approve_moves_the_shift(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana_user = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    bo_user = make_user(db, clock, Role.AGENT, email="bo@desk.test", tier=Tier.L1)
    lead_user = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    now, day = clock.now(), timedelta(days=1)
    week = ShiftsIn.model_validate(
        {
            "from": now - day,
            "to": now + 3 * day,
            "shifts": [
                {
                    "starts_at": now + i * day - timedelta(hours=1),
                    "ends_at": now + i * day + timedelta(hours=7),
                }
                for i in range(3)
            ],
        }
    )
    publish_shifts(db, agent=ana_user, body=week, clock=clock, actor=lead_user)
    absence = publish_absence(
        db, agent=ana_user, starts_at=now + 5 * day, ends_at=now + 6 * day, clock=clock, actor=lead_user
    )
    ana, bo, lead = (live_server.client(make_token(db, clock, u)) for u in (ana_user, bo_user, lead_user))
    db.commit()
    started, tomorrow, _ = db.scalars(select(AgentShift.id).order_by(AgentShift.starts_at)).all()[:3]

    offer = {"shift_id": tomorrow, "to_user_id": bo_user.id}
    assert bo.post("/api/v1/workforce/shift-swaps", json=offer).status_code == 403  # not Bo's shift
    assert ana.post("/api/v1/workforce/shift-swaps", json={**offer, "shift_id": started}).status_code == 422
    gone = ana.post("/api/v1/workforce/shift-swaps", json={**offer, "shift_id": absence.id})
    assert gone.status_code == 422 and "time off" in gone.text
    assert (
        ana.post("/api/v1/workforce/shift-swaps", json={**offer, "to_user_id": ana_user.id}).status_code
        == 422
    )
    made = ana.post("/api/v1/workforce/shift-swaps", json=offer)
    assert made.status_code == 201, made.text
    swap_id = made.json()["id"]
    assert ana.post("/api/v1/workforce/shift-swaps", json=offer).status_code == 409
    assert lead.post(f"/api/v1/workforce/shift-swaps/{swap_id}/approve").status_code == 409  # Bo first
    assert ana.post(f"/api/v1/workforce/shift-swaps/{swap_id}/accept").status_code == 403
    assert bo.post(f"/api/v1/workforce/shift-swaps/{swap_id}/accept").json()["status"] == "accepted"
    assert bo.post(f"/api/v1/workforce/shift-swaps/{swap_id}/approve").status_code == 403
    assert [s["id"] for s in lead.get("/api/v1/workforce/shift-swaps").json()] == [swap_id]
    approved = lead.post(f"/api/v1/workforce/shift-swaps/{swap_id}/approve")
    assert approved.status_code == 200, approved.text

    db.expire_all()
    assert db.get_one(ShiftSwap, swap_id).status is SwapStatus.APPROVED
    assert db.get_one(AgentShift, tomorrow).user_id == bo_user.id
    assert db.get_one(AgentShift, started).user_id == ana_user.id
    types = select(Event.type).where(Event.subject_type == "shift_swap").order_by(Event.id)
    assert db.scalars(types).all() == ["shift_swap_offered", "shift_swap_accepted", "shift_swap_approved"]
    moved = db.scalars(
        select(Event).where(Event.type == "routing_config_changed").order_by(Event.id.desc())
    ).first()
    assert moved is not None and moved.data["what"] == "shift_moved" and moved.data["to"] == bo_user.id


def test_the_offering_agent_withdraws_until_a_lead_approves(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana_user = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    bo_user = make_user(db, clock, Role.AGENT, email="bo@desk.test", tier=Tier.L1)
    lead_user = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    now, day = clock.now(), timedelta(days=1)
    week = ShiftsIn.model_validate(
        {
            "from": now,
            "to": now + 3 * day,
            "shifts": [
                {"starts_at": now + i * day, "ends_at": now + i * day + timedelta(hours=8)} for i in (1, 2)
            ],
        }
    )
    publish_shifts(db, agent=ana_user, body=week, clock=clock, actor=lead_user)
    ana, bo, lead = (live_server.client(make_token(db, clock, u)) for u in (ana_user, bo_user, lead_user))
    db.commit()
    first, second = db.scalars(select(AgentShift.id).order_by(AgentShift.starts_at)).all()

    offered = ana.post("/api/v1/workforce/shift-swaps", json={"shift_id": first, "to_user_id": bo_user.id})
    swap_id = offered.json()["id"]
    assert bo.post(f"/api/v1/workforce/shift-swaps/{swap_id}/accept").status_code == 200
    not_hers = bo.post(f"/api/v1/workforce/shift-swaps/{swap_id}/withdraw")
    assert not_hers.status_code == 403 and "only the agent who offered" in not_hers.json()["error"]["message"]
    withdrawn = ana.post(f"/api/v1/workforce/shift-swaps/{swap_id}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert lead.get("/api/v1/workforce/shift-swaps").json() == []  # nothing waits for a lead now
    assert lead.post(f"/api/v1/workforce/shift-swaps/{swap_id}/approve").status_code == 409
    again = ana.post(f"/api/v1/workforce/shift-swaps/{swap_id}/withdraw")
    assert again.status_code == 409
    # withdrawn, the shift can be offered again
    reoffered = ana.post("/api/v1/workforce/shift-swaps", json={"shift_id": first, "to_user_id": bo_user.id})
    assert reoffered.status_code == 201, reoffered.text

    approved_id = ana.post(
        "/api/v1/workforce/shift-swaps", json={"shift_id": second, "to_user_id": bo_user.id}
    ).json()["id"]
    bo.post(f"/api/v1/workforce/shift-swaps/{approved_id}/accept")
    assert lead.post(f"/api/v1/workforce/shift-swaps/{approved_id}/approve").status_code == 200
    late = ana.post(f"/api/v1/workforce/shift-swaps/{approved_id}/withdraw")
    assert late.status_code == 409 and "already approved" in late.json()["error"]["message"]
    assert ana.post("/api/v1/workforce/shift-swaps/999999/withdraw").status_code == 404

    db.expire_all()
    assert db.get_one(ShiftSwap, swap_id).status is SwapStatus.WITHDRAWN
    assert db.get_one(ShiftSwap, approved_id).status is SwapStatus.APPROVED
    assert db.get_one(AgentShift, first).user_id == ana_user.id
    assert db.get_one(AgentShift, second).user_id == bo_user.id
    withdrawals = select(Event.subject_id).where(Event.type == "shift_swap_withdrawn")
    assert db.scalars(withdrawals).all() == [swap_id]
