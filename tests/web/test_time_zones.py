"""Times on the pages are in the viewer's zone, with the zone named: the user's preference, else the
agent's site, else the browser's zone (reported by static/zone.js), else UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Site, Tier, User
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel
from opsdesk.web.ui.zones import format_time, viewer_zone
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in


def test_the_zone_comes_from_the_preference_then_the_site_then_the_browser() -> None:
    dublin = Site(name="Dublin", timezone="Europe/Dublin")
    agent = User(name="Ana", timezone=None, site_id=1, site=dublin)
    assert (viewer_zone(agent, "America/Chicago").zone.key, viewer_zone(agent, None).source) == (
        "Europe/Dublin",
        "site",
    )
    agent.timezone = "Asia/Manila"
    assert viewer_zone(agent, "America/Chicago").source == "preference"
    requester = User(name="Rita", timezone=None, site_id=None, site=None)
    assert viewer_zone(requester, "America/Chicago").zone.key == "America/Chicago"
    for forged in ("../../etc/passwd", "Nowhere/Land", "x" * 80, "", None):
        assert viewer_zone(requester, forged).source == "default"
        assert viewer_zone(requester, forged).zone.key == "UTC"


def test_a_time_is_written_with_its_zone() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert format_time(at, ZoneInfo("America/Chicago")) == "2026-03-02 03:00 CST"
    assert format_time(at, ZoneInfo("Europe/Dublin")) == "2026-03-02 09:00 GMT"
    assert (
        format_time(datetime(2026, 7, 1, 9, 0, tzinfo=UTC), ZoneInfo("Europe/Dublin"))
        == "2026-07-01 10:00 IST"
    )
    assert format_time(at, ZoneInfo("Asia/Dubai")) == "2026-03-02 13:00 UTC+04"
    assert format_time(at, ZoneInfo("UTC")) == "2026-03-02 09:00 UTC"


def _arrange(db: Session, clock: FixedClock) -> dict[str, Any]:
    dublin = core_actions.create_site(db, name="Dublin", timezone="Europe/Dublin")
    org = core_actions.create_organisation(db, name="Acme Health", clock=clock)
    agent = core_actions.create_user(
        db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L1, password=PASSWORD,
        site=dublin, clock=clock,
    )  # fmt: skip
    rita = core_actions.create_user(
        db, email="rita@acme.test", name="Rita", role=Role.REQUESTER, organisation=org, password=PASSWORD,
        clock=clock,
    )  # fmt: skip
    ticket = desk_actions.create_ticket(
        db, requester=rita, subject="Invoice", body_text="Billed 120.", channel=Channel.EMAIL, clock=clock
    )
    db.commit()
    return {"agent": agent, "ticket": ticket}


@pytest.mark.browser
def test_pages_show_times_in_the_viewers_zone_with_the_zone(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _arrange(db, clock)  # the ticket was created at 09:00 UTC on 2 March 2026
    number = data["ticket"].id
    context = browser.new_context(timezone_id="America/Chicago")
    requester = sign_in(context.new_page(), live_server, "rita@acme.test")
    requester.goto(f"{live_server.url}/portal/tickets/{number}")  # zone.js has set its cookie by now
    assert "2026-03-02 03:00 CST" in requester.get_by_test_id("message").first.inner_text()
    assert requester.locator("time").first.get_attribute("title") == "America/Chicago"
    context.close()

    context = browser.new_context(timezone_id="America/Chicago")
    agent = sign_in(context.new_page(), live_server, "ana@desk.test")
    agent.goto(f"{live_server.url}/tickets/{number}")
    assert "2026-03-02 09:00 GMT" in agent.inner_text("aside")  # the Dublin site's zone, not the browser's
    agent.goto(f"{live_server.url}/preferences")
    agent.select_option("select[name=timezone]", "Asia/Manila")
    agent.click("main button[type=submit]")
    assert agent.get_by_test_id("current-zone").inner_text() == "Asia/Manila"
    agent.goto(f"{live_server.url}/tickets/{number}")
    assert "2026-03-02 17:00 PST" in agent.inner_text("aside")
    context.close()
    db.expire_all()
    assert db.get_one(User, data["agent"].id).timezone == "Asia/Manila"
