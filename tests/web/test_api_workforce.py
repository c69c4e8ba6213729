"""/api/v1/workforce/plans over real HTTP: reading the latest plan, building one, who may do which."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.workforce.test_planning import add_desk_history, quick_config


def test_plans_are_read_by_planners_and_built_by_leads(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    add_desk_history(db, clock.now())
    tokens = {
        role: make_token(db, clock, make_user(db, clock, role))
        for role in (Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN, Role.CSM, Role.ANALYST)
    }
    db.commit()
    agent = live_server.client(tokens[Role.AGENT])
    lead = live_server.client(tokens[Role.SUPPORT_LEAD])
    analyst = live_server.client(tokens[Role.ANALYST])
    lead.timeout = agent.timeout = analyst.timeout = 60
    # Plans carry the hiring plan and its salary cost: agents work to their own schedule (/me/schedule)
    # and do not read the capacity plan.
    assert agent.get("/api/v1/workforce/plans/latest").status_code == 403
    assert agent.get("/api/v1/workforce/scenarios").status_code == 403

    missing = analyst.get("/api/v1/workforce/plans/latest")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no plan has been built yet"

    config = quick_config(clock.now())
    refused = agent.post("/api/v1/workforce/plans", json={"config": config})
    assert refused.status_code == 403
    assert (
        live_server.client(tokens[Role.ANALYST]).post("/api/v1/workforce/plans", json={}).status_code == 403
    )

    built = lead.post("/api/v1/workforce/plans", json={"config": config})
    assert built.status_code == 201, built.text
    plan = built.json()
    assert plan["status"] == "complete" and plan["config"] == config
    assert set(plan["forecast"]) == {"phone", "chat", "email", "social"}
    assert plan["schedule"]["totals"]["covered_pct"] >= 90 and plan["summary"]["hires"] > 0

    latest = analyst.get("/api/v1/workforce/plans/latest")
    assert latest.status_code == 200 and latest.json() == plan
    assert analyst.get(f"/api/v1/workforce/plans/{plan['id']}").json()["id"] == plan["id"]
    assert analyst.get(f"/api/v1/workforce/plans/{plan['id'] + 1}").status_code == 404
    assert analyst.get("/api/v1/workforce/plans/0").status_code == 422

    # Without a config, a build reuses the latest run's.
    clock.advance(timedelta(hours=1))
    admin = live_server.client(tokens[Role.ADMIN])
    admin.timeout = 60
    again = admin.post("/api/v1/workforce/plans", json={})
    assert again.status_code == 201 and again.json()["id"] == plan["id"] + 1
    assert again.json()["config"] == config
    assert analyst.get("/api/v1/workforce/plans/latest").json()["id"] == plan["id"] + 1

    # Roles without workforce.read, and nobody at all, are kept out.
    assert live_server.client(tokens[Role.CSM]).get("/api/v1/workforce/plans/latest").status_code == 403
    assert live_server.client().get("/api/v1/workforce/plans/latest").status_code == 401


def test_a_bad_configuration_is_refused_naming_the_key(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    token = make_token(db, clock, make_user(db, clock, Role.SUPPORT_LEAD))
    db.commit()
    lead = live_server.client(token)
    config = quick_config(clock.now())
    config["channels"]["chat"]["concurrency"] = 0
    response = lead.post("/api/v1/workforce/plans", json={"config": config})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "channels.chat.concurrency"

    config = quick_config(clock.now())
    config["sites"]["sites"][0]["opening_hours"]["mon"] = ["7am-9pm"]
    response = lead.post("/api/v1/workforce/plans", json={"config": config})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "sites.sites[0].opening_hours.mon[0]"

    # A desk with no history cannot be planned; nothing is stored.
    response = lead.post("/api/v1/workforce/plans", json={"config": quick_config(clock.now())})
    assert response.status_code == 422 and response.json()["error"]["field"] == "channels"
    assert lead.get("/api/v1/workforce/plans/latest").status_code == 404
    assert lead.post("/api/v1/workforce/plans", json={"config": {}, "extra": 1}).status_code == 422
