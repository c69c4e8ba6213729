"""The ticket workflow page in a real browser: the directly-follows graph is drawn (server-side SVG),
rework shows the return to L1, a channel filter changes the numbers and the URL; agents are kept out."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.insights.test_workflow import desk
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_a_lead_reads_the_flow_and_filters_it_by_channel(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    desk(db, clock)
    make_user(db, clock, Role.SUPPORT_LEAD, email="boss@desk.test")
    db.commit()
    page = browser.new_page()
    sign_in(page, live_server, "boss@desk.test")
    page.click("header nav a:has-text('Workflows')")
    page.wait_for_url("**/insights/workflows")
    # By default the last 7 days up to today (the shared clock's 2026-03-03), shown in the form.
    assert (page.input_value("input[name=from]"), page.input_value("input[name=to]")) == (
        "2026-02-25",
        "2026-03-03",
    )
    totals = " ".join(page.get_by_test_id("workflow-totals").inner_text().split())
    assert totals.startswith("2 tickets") and "1 reopens" in totals
    graph = page.get_by_test_id("flow-graph")
    activities = {n.get_attribute("data-activity") for n in graph.locator(".flow-node").all()}
    assert {"created", "escalated to L2", "returned to L1", "status solved"} <= activities
    assert (
        graph.locator("path.flow-edge").count()
        == page.locator("[data-testid=workflow-edges] tbody tr").count()
    )
    assert graph.locator("path.flow-edge.back").count() >= 1  # reopened: solved -> customer reply
    assert "tier: L1 → L2 → L1" in page.get_by_test_id("workflow-rework").inner_text()

    page.check("input[name=channel][value=chat]")
    page.click("[data-testid=workflow-filters] button[type=submit]")
    page.wait_for_url("**/insights/workflows?**channel=chat**")
    totals = " ".join(page.get_by_test_id("workflow-totals").inner_text().split())
    assert totals.startswith("1 tickets") and "0 reopens" in totals
    assert page.locator("input[name=channel][value=chat]").is_checked()
    assert "escalated to L2" not in page.get_by_test_id("workflow-variants").inner_text()

    page.goto(f"{live_server.url}/insights/workflows?from=2026-13-45")
    assert "is not a date" in page.get_by_test_id("workflow-error").inner_text()
    page.close()


def test_an_agent_has_no_workflow_page(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    make_user(db, clock, Role.AGENT, tier=Tier.L1, email="agent@desk.test")
    db.commit()
    page = browser.new_page()
    sign_in(page, live_server, "agent@desk.test")
    assert page.locator("header nav a:has-text('Workflows')").count() == 0
    response = page.goto(f"{live_server.url}/insights/workflows")
    assert response is not None and response.status == 403
    page.close()
