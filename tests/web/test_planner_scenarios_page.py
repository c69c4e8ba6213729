"""The scenario pages in a real browser: the chain link by link with its assumptions, an assumption
changed in the form recomputing the numbers downstream, and a copy compared side by side."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.workforce.models import PlanScenario
from opsdesk.workforce.scenarios import create_scenario
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.browsing import sign_in
from tests.workforce.chain.book import add_book, add_history, small_assumptions

pytestmark = pytest.mark.browser

STEPS = ("growth", "contacts", "volume", "requirement", "schedule", "headcount", "hiring")


def test_the_chain_is_shown_and_a_changed_scenario_is_compared_with_its_source(
    browser: Any,
    live_server: LiveServer,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test")
    make_user(db, clock, Role.ANALYST, email="analyst@desk.test")
    base = create_scenario(
        db,
        name="Base",
        assumptions=small_assumptions(clock.now(), chicago=16, manila=11),
        clock=clock,
        actor=lead,
    )
    db.commit()
    base_id, base_summary = base.id, dict(base.summary)
    reasons = [row["reason"] for row in base.chain["hiring"]["rows"]]

    reader = sign_in(browser.new_page(), live_server, "analyst@desk.test")
    reader.goto(f"{live_server.url}/planner")
    reader.click("[data-testid=scenarios-link]")
    reader.click(f"[data-testid=scenario-{base_id}] a")
    assert reader.locator("h1").inner_text() == f"Scenario #{base_id} Base"
    for step in STEPS:
        assert reader.get_by_test_id(f"step-{step}").is_visible()
    assert reader.get_by_test_id("start-lives").inner_text() == "12,000"
    assert "renews with probability 0.85" in reader.get_by_test_id("step-growth").inner_text()
    assert reader.get_by_test_id("step-requirement").locator("svg.chart").count() == 1
    assert reader.get_by_test_id("scenario-hires").inner_text() == str(base_summary["total_hires"])
    shown = reader.get_by_test_id("hiring-rows").locator("td.reason").all_inner_texts()
    assert shown == reasons and any(reason.startswith("no hire: by ") for reason in shown)
    assert reader.get_by_test_id("assumptions-form").count() == 0  # analysts read, leads change

    page = sign_in(browser.new_page(), live_server, "lead@desk.test")
    page.goto(f"{live_server.url}/planner/scenarios/{base_id}")
    # Recompute in place: 10% more growth a month moves lives, requirement and need.
    page.fill("input[name='growth.extra_monthly_growth_pct']", "10")
    page.click("[data-testid=recompute]")
    page.wait_for_url(f"{live_server.url}/planner/scenarios/{base_id}")
    with session_factory() as fresh:
        grown = fresh.get(PlanScenario, base_id)
        assert grown is not None and grown.assumptions["growth"]["extra_monthly_growth_pct"] == 10
        assert grown.summary["lives"][-1] > base_summary["lives"][-1]
        assert sum(grown.summary["requirement_hours"]) > sum(base_summary["requirement_hours"])
        grown_summary = grown.summary
    assert (
        page.get_by_test_id("requirement-first").inner_text()
        == f"{grown_summary['requirement_hours'][0]:,.0f}"
    )

    # A copy with a slower phone and chat and Manila open longer, compared with its source.
    page.fill("input[name='channels.phone.aht_seconds']", "720")
    page.fill("input[name='channels.chat.aht_seconds']", "900")
    page.fill("input[name='hours.1.weekday']", "07:00-21:00")
    page.fill("input[name='copy_name']", "Slow phone")
    page.click("[data-testid=save-copy]")
    page.wait_for_url("**/planner/scenarios/compare?ids=*")
    with session_factory() as fresh:
        slow = fresh.scalars(select(PlanScenario).where(PlanScenario.name == "Slow phone")).one()
        assert slow.copied_from_id == base_id
        assert slow.assumptions["channels"]["phone"]["aht_seconds"] == 720
        manila = slow.assumptions["sites"]["sites"][1]["opening_hours"]
        assert manila["mon"] == [[7 * 60, 21 * 60]] and manila["sat"] == [[7 * 60, 19 * 60]]
        assert slow.summary["total_hires"] > grown_summary["total_hires"]
        slow_id, slow_summary = slow.id, slow.summary
    assert page.locator("h1").inner_text() == "Scenarios compared"
    assert page.get_by_test_id(f"total-hires-{base_id}").inner_text() == str(grown_summary["total_hires"])
    assert page.get_by_test_id(f"total-hires-{slow_id}").inner_text() == str(slow_summary["total_hires"])
    assert (
        page.get_by_test_id(f"covered-{slow_id}").inner_text() == f"{slow_summary['schedule_covered_pct']}%"
    )
    month = slow_summary["months"][0]
    row = page.get_by_test_id(f"requirement_hours-{month}").inner_text()
    assert (
        f"{grown_summary['requirement_hours'][0]:,.1f}" in row
        and f"{slow_summary['requirement_hours'][0]:,.1f}" in row
    )
    for key in ("hires", "cost_cents", "need_fte"):
        assert page.get_by_test_id(f"compare-{key}").locator("tbody tr").count() == len(
            slow_summary["months"]
        )
    assert page.get_by_test_id("compare-hires-chart").locator("svg.chart").count() == 1

    # A bad value is refused with a message naming it; nothing is recomputed.
    page.goto(f"{live_server.url}/planner/scenarios/{base_id}")
    page.fill("input[name='hiring.attrition_monthly']", "abc")
    page.click("[data-testid=recompute]")
    assert "hiring.attrition_monthly" in page.content()


def test_compare_with_nothing_ticked_says_so_on_the_list(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """The walk of the demo: "Compare the ticked scenarios" with no box ticked answered a bare "Check the
    address: ids: ids is required" page. It now comes back to the list with what to do."""
    from tests.web.signin_http import signed_in_client

    make_user(db, clock, Role.SUPPORT_LEAD, email="lead@wfm.test")
    db.commit()
    with signed_in_client(live_server, "lead@wfm.test") as lead:
        answer = lead.get("/planner/scenarios/compare")  # what the form sends with no box ticked
        assert answer.status_code == 422
        assert "Planning scenarios" in answer.text
        assert 'data-testid="compare-error"' in answer.text and "tick the scenarios" in answer.text
        assert lead.get("/planner/scenarios/compare", params=[("ids", 0)]).status_code == 400
        assert lead.get("/planner/scenarios").status_code == 200
        assert 'data-testid="compare-error"' not in lead.get("/planner/scenarios").text
