"""The scenario page says which languages got their own queue and why, in a real browser; the
threshold is changed in the form (a bad value is refused naming the field, on the page and over the
API), and a changed threshold is stored and moves the decisions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.workforce.models import PlanScenario
from opsdesk.workforce.scenarios import create_scenario
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.browsing import sign_in
from tests.workforce.chain.book import add_book, add_history, language_assumptions

pytestmark = pytest.mark.browser


def test_the_scenario_page_shows_the_language_queues_and_refuses_a_bad_threshold(
    browser: Any,
    live_server: LiveServer,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test")
    token = make_token(db, clock, lead)
    scenario = create_scenario(
        db, name="Languages", assumptions=language_assumptions(clock.now()), clock=clock, actor=lead
    )
    db.commit()
    scenario_id, months = scenario.id, scenario.summary["months"]
    first = scenario.chain["requirement"]["language_queues"]["first_month"]

    page = sign_in(browser.new_page(), live_server, "lead@desk.test")
    page.goto(f"{live_server.url}/planner/scenarios/{scenario_id}")
    queues = page.get_by_test_id("language-queues")
    assert page.get_by_test_id("queue-threshold").inner_text() == "30%"
    for decision in first:
        row = queues.get_by_test_id(f"queue-{decision['channel']}-L1-{decision['language']}")
        assert row.locator("td.queue").inner_text() == decision["queue"]
        assert row.locator("td.reason").inner_text() == decision["reason"]
    assert "email/L1/es" in page.get_by_test_id(f"own-queues-{months[0]}").inner_text()
    assert "shares the L1/en queue" in queues.get_by_test_id("queue-phone-L1-de").inner_text()

    # A threshold above 1 is refused with the field named on the page; nothing is recomputed.
    page.fill("input[name='queues.min_own_queue_occupancy']", "1.5")
    page.click("[data-testid=recompute]")
    assert "queues.min_own_queue_occupancy" in page.content()
    api = live_server.client(token)
    api.timeout = 60
    bad = api.patch(
        f"/api/v1/workforce/scenarios/{scenario_id}",
        json={"changes": {"queues": {"min_own_queue_occupancy": 1.5}}},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "queues.min_own_queue_occupancy"
    with session_factory() as fresh:
        stored = fresh.get(PlanScenario, scenario_id)
        assert stored is not None and stored.assumptions["queues"]["min_own_queue_occupancy"] == 0.3

    # Pooling every language (threshold 1) is stored and shown: no language has its own queue.
    page.goto(f"{live_server.url}/planner/scenarios/{scenario_id}")
    page.fill("input[name='queues.min_own_queue_occupancy']", "1")
    page.click("[data-testid=recompute]")
    page.wait_for_url(f"{live_server.url}/planner/scenarios/{scenario_id}")
    assert page.get_by_test_id("queue-threshold").inner_text() == "100%"
    assert "none (every part pooled)" in page.get_by_test_id(f"own-queues-{months[0]}").inner_text()
    with session_factory() as fresh:
        stored = fresh.get(PlanScenario, scenario_id)
        assert stored is not None
        assert stored.assumptions["queues"]["min_own_queue_occupancy"] == 1
        decisions = stored.chain["requirement"]["language_queues"]["first_month"]
        assert {d["queue"] for d in decisions} == {"pooled"}
        assert sum(stored.summary["requirement_hours"]) < sum(scenario.summary["requirement_hours"])


def test_a_scenario_stored_before_queue_decisions_still_shows(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test")
    scenario = create_scenario(
        db, name="Old", assumptions=language_assumptions(clock.now()), clock=clock, actor=None
    )
    # As stored before this change: no queues assumption, no decisions in the chain.
    assumptions = dict(scenario.assumptions)
    del assumptions["queues"]
    requirement = dict(scenario.chain["requirement"])
    del requirement["language_queues"]
    scenario.assumptions, scenario.chain = assumptions, {**scenario.chain, "requirement": requirement}
    db.commit()
    page = sign_in(browser.new_page(), live_server, "lead@desk.test")
    page.goto(f"{live_server.url}/planner/scenarios/{scenario.id}")
    assert "recompute the scenario to see them" in page.get_by_test_id("language-queues").inner_text()
    assert page.get_by_test_id("queue-threshold").inner_text() == "50%"
