"""/api/v1/workforce/scenarios over real HTTP: a changed assumption changes every number downstream,
as read back from the database after the request committed; copies, comparison, bad input, roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.workforce.models import PlanScenario
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.workforce.chain.book import add_book, add_history, small_assumptions


def test_a_changed_assumption_recomputes_everything_downstream_and_is_stored(
    live_server: LiveServer, db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    lead_token = make_token(db, clock, make_user(db, clock, Role.SUPPORT_LEAD))
    agent_token = make_token(db, clock, make_user(db, clock, Role.AGENT))
    analyst_token = make_token(db, clock, make_user(db, clock, Role.ANALYST))
    db.commit()
    lead = live_server.client(lead_token)
    agent = live_server.client(agent_token)
    analyst = live_server.client(analyst_token)
    lead.timeout = agent.timeout = analyst.timeout = 60
    assumptions = small_assumptions(clock.now(), chicago=16, manila=11)

    assert (
        agent.post("/api/v1/workforce/scenarios", json={"name": "x", "assumptions": assumptions}).status_code
        == 403
    )
    created = lead.post("/api/v1/workforce/scenarios", json={"name": "Base", "assumptions": assumptions})
    assert created.status_code == 201, created.text
    base = created.json()
    assert base["chain"]["growth"]["start_lives"] == 12_000

    changed = lead.patch(
        f"/api/v1/workforce/scenarios/{base['id']}",
        json={"changes": {"channels": {"phone": {"aht_seconds": 720}, "chat": {"aht_seconds": 900}}}},
    )
    assert changed.status_code == 200, changed.text
    with session_factory() as fresh:  # what the request committed, read by another session
        stored = fresh.get(PlanScenario, base["id"])
        assert stored is not None
        assert stored.assumptions["channels"]["phone"]["aht_seconds"] == 720
        assert stored.assumptions["channels"]["email"]["aht_seconds"] == 480  # untouched keys kept
        before, after = base["summary"], stored.summary
        assert sum(after["requirement_hours"]) > sum(before["requirement_hours"])
        assert after["schedule_covered_hours"] >= before["schedule_covered_hours"]
        assert sum(after["need_fte"]) > sum(before["need_fte"])
        assert after["total_hires"] > before["total_hires"]
        assert after["total_cost_cents"] > before["total_cost_cents"]
        # Upstream of the changed assumption nothing moves.
        assert stored.chain["growth"] == base["chain"]["growth"]
        assert stored.chain["volume"] == base["chain"]["volume"]
        kinds = fresh.scalars(select(Event.type).where(Event.subject_type == "plan_scenario")).all()
        assert kinds == ["scenario_created", "scenario_changed"]

    copied = lead.post(
        f"/api/v1/workforce/scenarios/{base['id']}/copy",
        json={"name": "More growth", "changes": {"growth": {"extra_monthly_growth_pct": 10}}},
    )
    assert copied.status_code == 201, copied.text
    copy_ = copied.json()
    assert (
        copy_["copied_from_id"] == base["id"]
        and copy_["assumptions"]["channels"]["phone"]["aht_seconds"] == 720
    )
    assert copy_["summary"]["lives"][-1] > after["lives"][-1]

    compared = analyst.get(
        "/api/v1/workforce/scenarios/compare", params=[("ids", base["id"]), ("ids", copy_["id"])]
    )
    assert compared.status_code == 200, compared.text
    table = compared.json()
    assert [s["name"] for s in table["scenarios"]] == ["Base", "More growth"]
    hires = next(m for m in table["measures"] if m["key"] == "hires")
    assert [row["values"] for row in hires["rows"]] == [
        [a, b] for a, b in zip(after["hires"], copy_["summary"]["hires"], strict=True)
    ]
    assert agent.get("/api/v1/workforce/scenarios").status_code == 403  # salary cost is for planners
    listed = analyst.get("/api/v1/workforce/scenarios").json()
    assert [s["id"] for s in listed] == [copy_["id"], base["id"]]

    bad = lead.patch(
        f"/api/v1/workforce/scenarios/{base['id']}", json={"changes": {"hiring": {"attrition_monthly": 2}}}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "hiring.attrition_monthly"
    bad = lead.patch(
        f"/api/v1/workforce/scenarios/{base['id']}",
        json={"changes": {"channels": {"phone": {"aht_seconds": -1}}}},
    )
    assert bad.status_code == 422 and "aht_seconds" in bad.json()["error"]["field"]
    assert analyst.get("/api/v1/workforce/scenarios/compare", params=[("ids", 0)]).status_code == 422
    assert analyst.get(f"/api/v1/workforce/scenarios/{copy_['id'] + 1}").status_code == 404
    with session_factory() as fresh:  # the refused changes left the stored scenario as it was
        assert fresh.get(PlanScenario, base["id"]).summary == after  # type: ignore[union-attr]
