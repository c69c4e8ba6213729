"""The health endpoints over real HTTP against the real application and database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.health import actions
from opsdesk.success.models import PriceModel
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.success.health.test_actions import book


def test_health_override_history_scorecards_and_backtest(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    account = book(db, clock)
    lead = make_user(db, clock, Role.CS_LEAD, email="lead@example.com")
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    tokens = {u.email: make_token(db, clock, u) for u in (lead, csm, agent)}
    actions.score_accounts(db, as_of=date(2026, 2, 10), clock=clock)
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    db.commit()
    as_lead = live_server.client(tokens["lead@example.com"])
    as_csm = live_server.client(tokens["csm@example.com"])
    as_agent = live_server.client(tokens["agent@example.com"])

    health = as_csm.get(f"/api/v1/accounts/{account.id}/health")
    assert health.status_code == 200, health.text
    body = health.json()
    assert (
        body["scored_on"] == "2026-03-02" and body["band"] == "green" and body["scorecard_name"] == "Default"
    )
    measures = {m["measure"]: m for m in body["measures"]}
    assert measures["utilisation"]["value"] == 75 and measures["utilisation"]["weight"] == 25
    assert measures["utilisation"]["label"] == "Member utilisation"
    assert abs(sum(m["contribution"] for m in body["measures"]) - body["score"]) < 0.05
    assert body["override"] is None
    assert as_agent.get(f"/api/v1/accounts/{account.id}/health").status_code == 403
    assert as_csm.get("/api/v1/accounts/999/health").status_code == 404
    assert live_server.client().get(f"/api/v1/accounts/{account.id}/health").status_code == 401

    history = as_csm.get(f"/api/v1/accounts/{account.id}/health/history").json()
    assert [p["scored_on"] for p in history["points"]] == ["2026-02-10", "2026-03-02"]
    assert history["change"] is not None
    only_march = as_csm.get(f"/api/v1/accounts/{account.id}/health/history", params={"from": "2026-03-01"})
    assert len(only_march.json()["points"]) == 1
    bad_range = as_csm.get(
        f"/api/v1/accounts/{account.id}/health/history", params={"from": "2026-03-01", "to": "2026-02-01"}
    )
    assert bad_range.status_code == 422

    expires = (clock.now() + timedelta(days=30)).isoformat()
    override = as_csm.post(
        f"/api/v1/accounts/{account.id}/health/override",
        json={"band": "red", "reason": "Sponsor left", "expires_at": expires},
    )
    assert override.status_code == 201, override.text
    assert override.json()["band"] == "red" and override.json()["created_by_id"] == csm.id
    after = as_csm.get(f"/api/v1/accounts/{account.id}/health").json()
    assert after["effective_band"] == "red" and after["band"] == "green"
    assert after["override"]["reason"] == "Sponsor left"
    for bad in (
        {"band": "red", "score": 10, "reason": "x", "expires_at": expires},
        {"band": "red", "reason": "", "expires_at": expires},
        {"band": "red", "reason": "x", "expires_at": "2026-01-01T00:00:00Z"},
        {"band": "purple", "reason": "x", "expires_at": expires},
        {"score": 101, "reason": "x", "expires_at": expires},
        {"band": "red", "reason": "x", "expires_at": "2026-05-01T00:00:00"},  # no zone
    ):
        response = as_csm.post(f"/api/v1/accounts/{account.id}/health/override", json=bad)
        assert response.status_code == 422, (bad, response.text)

    assert as_csm.delete(f"/api/v1/accounts/{account.id}/health/override").status_code == 204
    assert as_csm.get(f"/api/v1/accounts/{account.id}/health").json()["effective_band"] == "green"
    assert as_csm.delete(f"/api/v1/accounts/{account.id}/health/override").status_code == 404

    cards = as_csm.get("/api/v1/health/scorecards").json()
    assert [c["name"] for c in cards] == ["Default"]
    assert sum(m["weight"] for m in cards[0]["measures"].values()) == 100
    new_card = {
        "name": "Renewal focus",
        "stage": "adoption",
        "measures": {"utilisation": {"weight": 60}, "nps": {"weight": 40, "points": [[-50, 0], [50, 100]]}},
    }
    assert as_csm.post("/api/v1/health/scorecards", json=new_card).status_code == 403  # leads only
    created = as_lead.post("/api/v1/health/scorecards", json=new_card)
    assert created.status_code == 201, created.text
    assert created.json()["measures"]["nps"]["points"] == [[-50.0, 0.0], [50.0, 100.0]]
    assert created.json()["measures"]["utilisation"]["points"][0] == [0.0, 0.0]  # default rule
    assert as_lead.post("/api/v1/health/scorecards", json=new_card).status_code == 409
    short = {**new_card, "name": "Short", "measures": {"nps": {"weight": 40}}}
    assert as_lead.post("/api/v1/health/scorecards", json=short).status_code == 422
    unknown = {**new_card, "name": "Bad", "measures": {"logins": {"weight": 100}}}
    reply = as_lead.post("/api/v1/health/scorecards", json=unknown)
    assert reply.status_code == 422 and "unknown measure" in reply.json()["error"]["message"]
    patched = as_lead.patch(
        f"/api/v1/health/scorecards/{created.json()['id']}",
        json={"measures": {"utilisation": {"weight": 100}}, "green_from": 70},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["measures"].keys() == {"utilisation"} and patched.json()["green_from"] == 70

    measures_info = {m["key"]: m for m in as_csm.get("/api/v1/health/measures").json()}
    assert measures_info["payment_status"]["default_points"] == [[0, 100], [30, 50], [90, 0]]
    assert sum(m["default_weight"] for m in measures_info.values()) == 100

    trend = as_csm.get("/api/v1/health/trend", params={"from": "2026-01-01", "to": "2026-03-31"})
    assert trend.status_code == 200, trend.text
    assert [(t["scored_on"], t["segment"], t["accounts"], t["green"], t["red"]) for t in trend.json()] == [
        ("2026-02-10", "Upper mid-market", 1, 1, 0),
        ("2026-03-02", "Upper mid-market", 1, 1, 0),
    ]
    assert (
        as_csm.get("/api/v1/health/trend", params={"from": "2026-03-01", "to": "2026-01-01"}).status_code
        == 422
    )

    backtest = as_csm.post("/api/v1/health/backtest", json={"horizon_days": 7})
    assert backtest.status_code == 200, backtest.text
    result = backtest.json()
    # The one snapshot whose horizon has passed (10 Feb) has no renewal due within it (1 Jun): not compared.
    assert result["snapshots"] == 0 and result["positives"] == 0 and result["auc"] is None
    assert result["suggested_weights"] is None
    assert as_csm.post("/api/v1/health/backtest", json={"horizon_days": 0}).status_code == 422


def test_utilisation_trends_per_account_and_segment(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    account = book(db, clock)
    small = success.create_account(db, name="Small", covered_lives=50, clock=clock)
    contracts.save_subscription(
        db, account=small, start=date(2025, 1, 1), end=date(2026, 12, 31), price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=1_000_00, clock=clock,
    )  # fmt: skip
    success.record_utilisation(
        db, account=small, month=date(2026, 2, 1), engaged_members=10, sessions=12,
        programme_uptake_pct=Decimal(40),
    )  # fmt: skip
    analyst = make_user(db, clock, Role.ANALYST, email="analyst@example.com")
    token = make_token(db, clock, analyst)
    db.commit()
    client = live_server.client(token)

    reply = client.get(f"/api/v1/accounts/{account.id}/utilisation")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [m["month"] for m in body["months"]] == ["2026-01-01", "2026-02-01"]  # March is in progress
    assert body["months"][1]["engaged_rate_pct"] == 15.0
    assert body["trend"]["direction"] == "up" and body["trend"]["change_pp"] == 3.0

    segments = {(r["segment"], r["month"]): r for r in client.get("/api/v1/utilisation/segments").json()}
    assert segments[("Small business", "2026-02-01")]["engaged_rate_pct"] == 20.0
    assert segments[("Upper mid-market", "2026-01-01")]["covered_lives"] == 1000
