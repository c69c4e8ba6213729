"""The compare page shows, per scenario, which parts of the demand mix got their own queue and which
were pooled in the first month, with the reason, beside requirement, coverage, hires and cost; a
scenario stored before the decisions says to recompute it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.workforce.scenarios import create_scenario
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.browsing import sign_in
from tests.workforce.chain.book import add_book, add_history, language_assumptions

pytestmark = pytest.mark.browser


def test_the_compare_page_shows_each_scenarios_own_and_pooled_queues(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test")
    split = create_scenario(
        db, name="Split", assumptions=language_assumptions(clock.now()), clock=clock, actor=lead
    )
    pooled = create_scenario(
        db,
        name="Pooled",
        assumptions=language_assumptions(clock.now(), threshold=1),
        clock=clock,
        actor=lead,
    )
    old = create_scenario(
        db, name="Old", assumptions=language_assumptions(clock.now()), clock=clock, actor=lead
    )
    requirement = dict(old.chain["requirement"])
    del requirement["language_queues"]
    old.chain = {**old.chain, "requirement": requirement}
    db.commit()
    decisions = split.chain["requirement"]["language_queues"]["first_month"]
    own = [f"{d['channel']}/{d['skill']}/{d['language']}" for d in decisions if d["queue"] == "own"]
    assert own and any(d["queue"] == "pooled" for d in decisions)

    page = sign_in(browser.new_page(), live_server, "lead@desk.test")
    page.goto(f"{live_server.url}/planner/scenarios/compare?ids={split.id}&ids={pooled.id}&ids={old.id}")
    queues = page.get_by_test_id("compare-queues")
    assert queues.get_by_test_id(f"queues-threshold-{split.id}").inner_text() == "30%"
    assert queues.get_by_test_id(f"queues-threshold-{pooled.id}").inner_text() == "100%"
    assert queues.get_by_test_id(f"queues-own-{split.id}").inner_text() == ", ".join(own)
    assert "email/L1/es" in own
    assert "phone/L1/de" in queues.get_by_test_id(f"queues-pooled-{split.id}").inner_text()
    assert queues.get_by_test_id(f"queues-own-{pooled.id}").inner_text() == "none (every part pooled)"
    assert "recompute the scenario" in queues.get_by_test_id(f"queues-own-{old.id}").inner_text()
    for d in decisions:
        key = f"{d['channel']}-{d['skill']}-{d['language']}"
        cell = queues.get_by_test_id(f"compare-queue-{split.id}-{key}")
        assert cell.locator(".queue").inner_text() == d["queue"]
        assert cell.locator(".reason").inner_text() == d["reason"]
        assert queues.get_by_test_id(f"compare-queue-{pooled.id}-{key}").locator(".queue").inner_text() == (
            "pooled"
        )
        assert queues.get_by_test_id(f"compare-queue-{old.id}-{key}").inner_text() == "–"
    # Beside the queues, the totals are still there for every scenario.
    for scenario in (split, pooled, old):
        assert page.get_by_test_id(f"total-hires-{scenario.id}").inner_text() == str(
            scenario.summary["total_hires"]
        )
