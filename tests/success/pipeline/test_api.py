"""The pipeline and portfolio endpoints over real HTTP against the real application and database."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import PriceModel
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.signin_http import signed_in_client


def test_opportunities_forecast_accuracy_renewals_and_portfolio(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    make_user(db, clock, Role.CSM, email="spare@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    account = success.create_account(
        db, name="Acme", covered_lives=200, owner=csm, region="EMEA", clock=clock
    )
    contracts.save_subscription(
        db,
        account=account,
        start=date(2025, 5, 1),
        end=date(2026, 4, 30),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=2_400_000,
        clock=clock,
    )
    tokens = {u.email: make_token(db, clock, u) for u in (csm, agent)}
    db.commit()
    api = live_server.client(tokens["csm@example.com"])
    as_agent = live_server.client(tokens["agent@example.com"])

    # a deal created in January (clock moved back), won in February: accuracy has a past month
    clock.set(clock.now() - timedelta(days=50))  # 11 January 2026
    made = api.post(
        "/api/v1/opportunities",
        json={
            "account_id": account.id,
            "kind": "expansion",
            "amount_cents": 100_000,
            "close_date": "2026-02-20",
            "stage": "negotiate",
        },
    )
    assert made.status_code == 201, made.text
    deal = made.json()
    assert deal["owner_id"] == csm.id and deal["name"] == "Expansion: Acme"
    clock.set(clock.now() + timedelta(days=35))  # 15 February
    won = api.post(
        f"/api/v1/opportunities/{deal['id']}/stage", json={"to": "closed_won", "amount_cents": 90_000}
    )
    assert won.status_code == 200 and won.json()["closed_on"] == "2026-02-15"
    # the win amended the running term: ARR is 2,490,000 from 15 February
    assert won.json()["won_subscription_id"] is not None
    with signed_in_client(live_server, "csm@example.com") as pages:  # the timeline shows dollars
        timeline = pages.get(f"/customers/{account.id}").text
        assert "Deal won, contract updated" in timeline and "amount: $900" in timeline
        assert "amount cents" not in timeline
    clock.set(clock.now() + timedelta(days=15))  # 2 March

    accuracy = api.get("/api/v1/pipeline/accuracy", params={"from": "2026-02-01", "to": "2026-02-28"})
    assert accuracy.status_code == 200, accuracy.text
    feb = accuracy.json()["months"][0]
    # at 1 Feb the deal was in negotiate with no closed history: default .60 x 100,000
    assert (feb["forecast"], feb["actual"], feb["error"]) == (60_000, 90_000, -30_000)
    assert accuracy.json()["bias"] == -30_000 / 90_000
    assert (
        api.get("/api/v1/pipeline/accuracy", params={"from": "2026-03-01", "to": "2026-03-31"}).status_code
        == 422
    )

    upsell = api.post(
        "/api/v1/opportunities",
        json={
            "account_id": account.id,
            "kind": "upsell",
            "amount_cents": 50_000,
            "close_date": "2026-04-15",
            "probability_pct": 30,
            "category": "commit",
        },
    ).json()
    patched = api.patch(
        f"/api/v1/opportunities/{upsell['id']}", json={"probability_pct": None, "amount_cents": 60_000}
    )
    assert patched.status_code == 200 and patched.json()["probability_pct"] is None
    assert patched.json()["category"] == "commit" and patched.json()["amount_cents"] == 60_000
    bad = api.patch(f"/api/v1/opportunities/{upsell['id']}", json={"close_date": None})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "close_date"
    assert (
        api.post(
            "/api/v1/opportunities",
            json={"account_id": 9999, "kind": "upsell", "amount_cents": 1, "close_date": "2026-04-01"},
        ).status_code
        == 422
    )
    assert (
        api.post(
            "/api/v1/opportunities",
            json={"account_id": account.id, "kind": "upsell", "amount_cents": -1, "close_date": "2026-04-01"},
        ).status_code
        == 422
    )

    generated = api.post("/api/v1/renewals/generate", json={"lead_days": 90})
    assert generated.status_code == 200, generated.text
    # the renewal is of the amended term, so the ARR up for renewal includes the won expansion
    assert [o["amount_cents"] for o in generated.json()["created"]] == [2_490_000]
    assert api.post("/api/v1/renewals/generate", json={"lead_days": 90}).json()["created"] == []
    assert as_agent.post("/api/v1/renewals/generate", json={}).status_code == 403

    forecast = api.get("/api/v1/pipeline/forecast", params={"from": "2026-04-01", "to": "2026-04-30"})
    assert forecast.status_code == 200, forecast.text
    april = forecast.json()["months"][0]
    # the won deal was only ever in negotiate, so qualify keeps its defaults (new ARR .10, renewal .80):
    # upsell 60,000 x .1 = 6,000; renewal 2,490,000 x .8 = 1,992,000
    assert april["weighted"] == 1_992_000 + 6_000
    negotiate = next(
        p for p in forecast.json()["probabilities"] if (p["family"], p["stage"]) == ("new_arr", "negotiate")
    )
    assert (negotiate["reached"], negotiate["won"]) == (1, 1) and negotiate["probability"] == 7 / 11
    assert april["commit"] == 60_000 and april["open_pipeline"] == 2_550_000
    assert april["p10"] <= april["p50"] <= april["p90"]
    assert len(api.get("/api/v1/opportunities", params={"account_id": account.id}).json()) == 3
    assert (
        api.get("/api/v1/pipeline/forecast", params={"from": "2026-05-01", "to": "2026-04-01"}).status_code
        == 422
    )

    books = api.get("/api/v1/portfolio")
    assert books.status_code == 200, books.text
    mine = {b["csm"]: b for b in books.json()}
    assert mine["csm@example.com"]["accounts"] == 1 and mine["csm@example.com"]["arr_cents"] == 2_490_000
    assert mine["spare@example.com"]["accounts"] == 0
    assert api.get("/api/v1/portfolio/rebalance").json() == []  # nobody over capacity

    assert api.delete(f"/api/v1/opportunities/{upsell['id']}").status_code == 204
    assert api.get(f"/api/v1/opportunities/{upsell['id']}").status_code == 404
    assert live_server.client().get("/api/v1/opportunities").status_code == 401


def test_rebalancing_is_proposed_and_made_on_request(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    """Issue 14: rebalancing proposes real moves when a book is over capacity and applies them on
    request (CS leads and admins); afterwards nothing is left to propose."""
    from sqlalchemy import select

    from opsdesk.success.models import Account

    ann = make_user(db, clock, Role.CSM, email="ann@example.com")
    make_user(db, clock, Role.CSM, email="bob@example.com")
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@example.com")
    for n in range(2):  # two $2M small-business accounts: 267% of one CSM's ARR capacity
        account = success.create_account(db, name=f"Big {n}", covered_lives=50, owner=ann, clock=clock)
        contracts.save_subscription(
            db, account=account, start=date(2025, 6, 1), end=date(2026, 5, 31),
            price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=200_000_000, clock=clock,
        )  # fmt: skip
    tokens = {user.email: make_token(db, clock, user) for user in (ann, lead)}
    db.commit()
    with live_server.client(tokens["ann@example.com"]) as api:
        proposed = api.get("/api/v1/portfolio/rebalance").json()
        assert len(proposed) == 1 and proposed[0]["from_csm_id"] == ann.id
        assert api.post("/api/v1/portfolio/rebalance").status_code == 403  # a CSM cannot move books
    with live_server.client(tokens["lee@example.com"]) as api:
        made = api.post("/api/v1/portfolio/rebalance")
        assert made.status_code == 200, made.text
        assert [(m["account_id"], m["to_csm_id"]) for m in made.json()] == [
            (p["account_id"], p["to_csm_id"]) for p in proposed
        ]
        assert api.get("/api/v1/portfolio/rebalance").json() == []
    db.expire_all()
    owners = sorted(a.owner.email for a in db.scalars(select(Account)) if a.owner is not None)
    assert owners == ["ann@example.com", "bob@example.com"]
