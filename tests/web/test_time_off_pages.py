"""Time off in a real browser: an agent requests days off from their schedule page, a lead approves it
on the pending page, and the agent sees it approved with the shift it takes marked off, and in the
calendar feed whose address the page gives them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk.routing.admin import publish_shifts
from opsdesk.desk.routing.models import AgentShift
from opsdesk.desk.routing.schemas import ShiftsIn
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffRequest, TimeOffStatus
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_agent_requests_time_off_and_lead_approves(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    user = {"password": PASSWORD, "clock": clock}
    ana = core_actions.create_user(
        db, email="ana@desk.test", name="Ana Agent", role=Role.AGENT, tier=Tier.L1, **user
    )
    ana.timezone = "America/Chicago"  # days off and shifts read in her zone: CST, UTC-6 in early March
    core_actions.create_user(db, email="lee@desk.test", name="Lee Lead", role=Role.SUPPORT_LEAD, **user)
    now = clock.now()  # Monday 2026-03-02 09:00 UTC
    day, eight = timedelta(days=1), timedelta(hours=8)
    week = ShiftsIn.model_validate(
        {
            "from": now,
            "to": now + 5 * day,
            "shifts": [{"starts_at": now + i * day, "ends_at": now + i * day + eight} for i in range(5)],
        }
    )
    publish_shifts(db, agent=ana, body=week, clock=clock, actor=None)
    db.commit()
    wednesday = db.scalars(select(AgentShift).where(AgentShift.starts_at == now + 2 * day)).one()

    page = sign_in(browser.new_page(), live_server, "ana@desk.test")
    page.click("header >> text=My schedule")
    page.wait_for_url("**/me/schedule")
    assert "2026-03-04 03:00 CST" in page.get_by_test_id(f"shift-{wednesday.id}").inner_text()
    form = page.get_by_test_id("time-off-form")
    form.locator("select[name=kind]").select_option("vacation")
    form.locator("input[name=first_day]").fill("2026-03-04")
    form.locator("input[name=last_day]").fill("2026-03-04")
    form.locator("input[name=note]").fill("Sister's wedding")
    form.get_by_role("button", name="Request time off").click()
    page.wait_for_url("**/me/schedule")
    request = db.scalars(select(TimeOffRequest)).one()
    row = page.get_by_test_id(f"time-off-{request.id}")
    assert row.get_by_test_id("status").inner_text() == "pending"
    assert "Sister's wedding" in row.inner_text()
    assert page.goto(live_server.url + "/workforce/time-off").status == 403
    db.rollback()

    lead = sign_in(browser.new_page(), live_server, "lee@desk.test")
    lead.goto(live_server.url + "/workforce/time-off")
    pending = lead.get_by_test_id(f"pending-{request.id}")
    assert "Ana Agent" in pending.inner_text() and "vacation" in pending.inner_text()
    pending.get_by_label("Note").fill("Enjoy")
    pending.get_by_role("button", name="Approve").click()
    lead.wait_for_url("**/workforce/time-off")
    assert "Nothing waits for a decision" in lead.get_by_test_id("pending-time-off").inner_text()
    lead.close()

    page.goto(live_server.url + "/me/schedule")
    status = page.get_by_test_id(f"time-off-{request.id}").get_by_test_id("status").inner_text()
    assert status == "approved Enjoy"
    assert "off: vacation" in page.get_by_test_id(f"shift-{wednesday.id}").inner_text()
    page.get_by_role("button", name="Create a calendar address").click()
    feed = httpx.get(page.get_by_test_id("feed-url").input_value())
    assert feed.status_code == 200 and "SUMMARY:Time off (vacation)" in feed.text
    tuesday = db.scalars(select(AgentShift).where(AgentShift.starts_at == now + day)).one()
    assert "off" not in page.get_by_test_id(f"shift-{tuesday.id}").inner_text()
    page.close()

    db.expire_all()
    stored = db.get_one(TimeOffRequest, request.id)
    assert (stored.kind, stored.status, stored.note) == (
        TimeOffKind.VACATION,
        TimeOffStatus.APPROVED,
        "Sister's wedding",
    )
    midnight_in_chicago = now + 2 * day - timedelta(hours=3)  # 2026-03-04 00:00 CST
    assert (stored.starts_at, stored.ends_at) == (midnight_in_chicago, midnight_in_chicago + day)
    absence = db.scalars(select(AgentShift).where(AgentShift.absence.is_(True))).one()
    assert (absence.user_id, absence.starts_at) == (ana.id, stored.starts_at)
    events = select(Event.type).where(Event.subject_type == "time_off_request").order_by(Event.id)
    assert db.scalars(events).all() == ["time_off_requested", "time_off_approved"]
