"""/workforce/intraday in a real browser and /api/v1/workforce/intraday over real HTTP: with published
shifts and agents online by their presence, online against required in the viewer's zone, adherence per
agent, and who may see it (leads, admins, analysts; not agents)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.browsing import sign_in
from tests.workforce.intraday_scene import morning
from tests.workforce.test_intraday_day import RATIO, required

pytestmark = pytest.mark.browser


def test_the_intraday_page_shows_online_against_required_to_leads_only(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock, engine: Engine
) -> None:
    scene = morning(db, clock)
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test")
    lead.timezone = "Asia/Manila"  # 18:07 there: the page's times are Manila's
    make_user(db, clock, Role.ANALYST, email="analyst@desk.test")
    tokens = {"lead": make_token(db, clock, lead), "agent": make_token(db, clock, scene.ana)}
    db.commit()
    now_required, now_on_shift = required(round(10 * RATIO, 2))

    page = sign_in(browser.new_page(), live_server, "lead@desk.test")
    page.click("header a:text('Intraday')")
    page.wait_for_url(live_server.url + "/workforce/intraday")
    assert page.locator("h1").inner_text() == "Intraday: 2026-03-02"
    now = page.get_by_test_id("intraday-now")
    assert "Now (18:00)" in now.inner_text()
    assert page.get_by_test_id("now-online").inner_text() == "2.0"
    assert page.get_by_test_id("now-scheduled").inner_text() == "2.0"
    assert page.get_by_test_id("now-required").inner_text() == str(now_required)
    assert page.get_by_test_id("now-required-on-shift").inner_text() == str(now_on_shift)
    for series in ("required", "scheduled", "online"):
        assert now.locator(f"polyline[data-series='{series}']").count() >= 1
    page.get_by_test_id("interval-details").locator("summary").click()
    # 09:15 UTC: Ana online 10 of its 15 minutes, Ben all of them.
    cells = page.get_by_test_id("interval-17:15").locator("td").all_inner_texts()
    assert cells[-2:] == ["2.0", "1.7"]
    phone = page.get_by_test_id("channel-phone").locator("td").all_inner_texts()
    assert phone[:5] == ["phone", "960.0", "248", f"{245 + 24 * 10 * RATIO:,.1f}", f"×{RATIO:.2f}"]
    assert page.get_by_test_id("chart-phone").locator("polyline[data-series=arrived]").count() >= 1
    assert page.get_by_test_id(f"adherence-{scene.ana.id}").inner_text() == f"{100 * 97 / 127:.1f}%"
    assert page.get_by_test_id(f"out-{scene.ben.id}").inner_text() == "30"
    assert page.get_by_test_id(f"adherence-{scene.cai.id}").inner_text() == "–"
    page.close()

    page = sign_in(browser.new_page(), live_server, "analyst@desk.test")
    assert page.goto(live_server.url + "/workforce/intraday").status == 200
    page.close()
    page = sign_in(browser.new_page(), live_server, "ana@desk.test")
    assert page.locator("header a:text('Intraday')").count() == 0
    assert page.goto(live_server.url + "/workforce/intraday").status == 403
    page.close()

    api = live_server.client(tokens["lead"])
    body = api.get("/api/v1/workforce/intraday", params={"zone": "UTC"}).json()
    assert body["zone"] == "UTC" and body["current_interval"] == 40 and body["interval_minutes"] == 15
    row = body["intervals"][40]
    assert (row["local_time"], row["online"], row["scheduled"]) == ("10:00", 2.0, 2.0)
    assert (row["required"], row["required_on_shift"]) == (now_required, now_on_shift)
    assert row["actual"] == {"phone": 3.0} and row["reforecast"]["phone"] == round(10 * RATIO, 1)
    agents = {a["name"]: a for a in body["agents"]}
    assert (
        agents["ana"]["adherence_pct"] == round(100 * 97 / 127, 1) and agents["ana"]["missed_minutes"] == 30
    )
    assert api.get("/api/v1/workforce/intraday").json()["zone"] == "Asia/Manila"  # the lead's own
    bad = api.get("/api/v1/workforce/intraday", params={"zone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "zone"
    assert api.get("/api/v1/workforce/intraday", params={"zone": "../etc"}).status_code == 422
    refused = live_server.client(tokens["agent"]).get("/api/v1/workforce/intraday")
    assert refused.status_code == 403
