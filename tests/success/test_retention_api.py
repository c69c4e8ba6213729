"""GET /api/v1/retention over real HTTP: the bridge, renewals and cohorts of a finished period, and a
period ending after today refused in every view (issue 14: contracts not renewed yet read as churn)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import PriceModel
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_retention_over_the_api_refuses_a_period_ending_after_today(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    accounts = {
        name: success.create_account(db, name=name, covered_lives=100, owner=csm, clock=clock)
        for name in ("Renewed", "Lost")
    }
    for name, start, end in (
        ("Renewed", date(2024, 12, 1), date(2025, 11, 30)),
        ("Renewed", date(2025, 12, 1), date(2026, 11, 30)),  # not yet due to renew: 2 March 2026 is today
        ("Lost", date(2024, 6, 1), date(2025, 5, 31)),
    ):
        contracts.save_subscription(
            db,
            account=accounts[name],
            start=start,
            end=end,
            price_model=PriceModel.FLAT_ANNUAL,
            flat_annual_cents=1_000_000,
            clock=clock,
        )
    tokens = {u.email: make_token(db, clock, u) for u in (csm, agent)}
    db.commit()
    api = live_server.client(tokens["csm@example.com"])

    done = api.get("/api/v1/retention", params={"from": "2025-03-02", "to": "2026-03-01"})
    assert done.status_code == 200, done.text
    (year,) = done.json()
    assert (year["start_arr"], year["churn"], year["end_arr"]) == (2_000_000, 1_000_000, 1_000_000)
    assert year["grr"] == 0.5 and year["period_end"] == "2026-03-01"
    assert api.get("/api/v1/retention").status_code == 200  # default: the twelve months to today
    assert api.get("/api/v1/retention", params={"view": "renewals", "by": "csm"}).status_code == 200
    assert api.get("/api/v1/retention", params={"view": "cohorts"}).status_code == 200

    # the period: every contract ending in it would count as churn
    for view in ("bridge", "renewals", "cohorts"):
        ahead = api.get("/api/v1/retention", params={"from": "2026-12-01", "to": "2027-11-30", "view": view})
        assert ahead.status_code == 422, (view, ahead.text)
        assert ahead.json()["error"]["field"] == "to" and "after today" in ahead.json()["error"]["message"]
    backwards = api.get("/api/v1/retention", params={"from": "2026-01-01", "to": "2025-12-31"})
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "to"
    assert api.get("/api/v1/retention", params={"by": "planet"}).status_code == 422
    as_agent = live_server.client(tokens["agent@example.com"])
    assert as_agent.get("/api/v1/retention").status_code == 403


def test_retention_over_the_api_with_no_contracts_yet(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    lead = make_user(db, clock, Role.CS_LEAD, email="lead@example.com")
    token = make_token(db, clock, lead)
    db.commit()
    api = live_server.client(token)
    for view in ("bridge", "renewals", "cohorts"):
        for by in ("none", "segment", "cohort"):
            got = api.get("/api/v1/retention", params={"view": view, "by": by})
            assert got.status_code == 200, (view, by, got.text)
