"""The planner page in a real browser: charts from the stored plan, building a new one, who may do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.workforce.models import PlanRun
from opsdesk.workforce.planning import build_plan
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.browsing import sign_in
from tests.workforce.test_planning import add_desk_history, quick_config

pytestmark = pytest.mark.browser


def test_planner_shows_the_stored_plan_as_charts_and_a_lead_builds_a_new_one(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    add_desk_history(db, clock.now())
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test")
    make_user(db, clock, Role.ANALYST, email="analyst@desk.test")
    make_user(db, clock, Role.AGENT, email="agent@desk.test")
    make_user(db, clock, Role.CSM, email="csm@desk.test")
    run = build_plan(db, config=quick_config(clock.now()), clock=clock, created_by=lead)
    db.commit()
    totals = run.schedule["totals"]

    page = sign_in(browser.new_page(), live_server, "analyst@desk.test")
    page.click("header a:text('Planner')")
    page.wait_for_url(live_server.url + "/planner")
    assert page.locator("h1").inner_text() == f"Workforce plan #{run.id}"
    # Forecast vs actual: one chart per channel, with the shaded 80% band, both lines and the markers.
    for channel in ("phone", "chat", "email", "social"):
        card = page.locator(f"[data-testid=forecast-{channel}]")
        assert card.locator("svg.chart").count() == 1
        assert card.locator("polygon.band").count() >= 1
        assert card.locator("polyline[data-series=actual]").count() >= 1
        assert card.locator("polyline[data-series=forecast]").count() >= 1
        assert card.locator("line.marker").count() == 2
        data = run.forecast[channel]
        assert card.get_by_test_id(f"wape-{channel}").inner_text() == f"{data['backtest_wape_pct']}%"
        assert card.get_by_test_id(f"actual-{channel}").inner_text() == f"{data['backtest_actual']:,.0f}"
    # Required vs scheduled: the stored totals, a row and a chart per site with its zone.
    assert page.get_by_test_id("total-required").inner_text() == f"{totals['required']:,}"
    assert page.get_by_test_id("total-scheduled").inner_text() == f"{totals['scheduled']:,}"
    assert page.get_by_test_id("total-under").inner_text() == f"{totals['under']:,}"
    assert page.get_by_test_id("total-over").inner_text() == f"{totals['over']:,}"
    manila = page.get_by_test_id("site-Manila").inner_text()
    assert "Asia/Manila (UTC+08:00)" in manila and f"{run.schedule['sites']['Manila']['shifts']}" in manila
    for site in ("All sites", "Chicago", "Seattle", "San Francisco", "Manila", "Dublin"):
        chart = page.locator(f"[data-testid='coverage-{site}']")
        assert chart.locator("polyline[data-series=required]").count() >= 1
        assert chart.locator("polyline[data-series=scheduled]").count() >= 1
    # Hiring: bars of hires, the FTE lines and the monthly table.
    assert page.get_by_test_id("total-hires").inner_text() == str(run.summary["hires"])
    assert page.locator("#hiring ~ div svg.chart rect title").count() > 0
    assert page.get_by_test_id("hiring-table").locator("tbody tr").count() == len(run.hiring["rows"])
    assert page.locator("svg.chart").count() >= 4 + 1 + 6 + 2
    # An analyst may read the plan but not build one: no button, and a forged post is refused.
    assert page.get_by_test_id("build").count() == 0
    token = page.locator("header input[name=csrf_token]").get_attribute("value")
    refused = page.request.post(live_server.url + "/planner/build", form={"csrf_token": token})
    assert refused.status == 403
    page.close()

    # Neither a CSM nor an agent reads the capacity plan and its hiring cost.
    for email in ("csm@desk.test", "agent@desk.test"):
        page = sign_in(browser.new_page(), live_server, email)
        assert page.locator("header a:text('Planner')").count() == 0
        assert page.goto(live_server.url + "/planner").status == 403
        assert page.goto(live_server.url + "/planner/scenarios").status == 403
        page.close()

    page = sign_in(browser.new_page(), live_server, "lead@desk.test")
    page.goto(live_server.url + "/planner")
    clock.advance(timedelta(hours=1))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/planner/{run.id + 1}", timeout=30_000)
    assert page.locator("h1").inner_text() == f"Workforce plan #{run.id + 1}"
    assert "by lead" in page.get_by_test_id("plan-meta").inner_text()
    assert page.locator(f"a[href='/planner/{run.id}']").count() == 1
    assert page.locator("polygon.band").count() >= 4
    page.close()
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(PlanRun)) == 2


def test_an_empty_planner_says_so(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    make_user(db, clock, Role.ADMIN, email="admin@desk.test")
    make_user(db, clock, Role.ANALYST, email="analyst@desk.test")
    db.commit()
    page = sign_in(browser.new_page(), live_server, "analyst@desk.test")
    page.goto(live_server.url + "/planner")
    assert "No plan has been built yet" in page.get_by_test_id("no-plan").inner_text()
    assert page.get_by_test_id("build").count() == 0
    page.close()
    page = sign_in(browser.new_page(), live_server, "admin@desk.test")
    page.goto(live_server.url + "/planner")
    assert page.get_by_test_id("build").count() == 1
    page.close()
