"""Routing pages in a real browser: an agent sets their status on the presence page and in the chat
console; a lead changes settings and imports YAML on the admin page; the hand-over report shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, RoutingSettings, Skill
from opsdesk.desk.routing.presence import auto_away, set_presence
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_presence_admin_and_handover_pages(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    user = {"password": PASSWORD, "clock": clock}
    ana = core_actions.create_user(
        db, email="ana@desk.test", name="Ana Agent", role=Role.AGENT, tier=Tier.L1, **user
    )
    core_actions.create_user(db, email="lee@desk.test", name="Lee Lead", role=Role.SUPPORT_LEAD, **user)
    db.commit()

    page = sign_in(browser.new_page(), live_server, "ana@desk.test")
    page.click("header >> text=Presence")
    page.get_by_test_id("presence-status").select_option("online")
    page.get_by_test_id("presence-save").click()
    page.wait_for_url("**/routing")
    assert page.get_by_test_id(f"presence-{ana.id}").get_by_test_id("status").inner_text() == "online"
    assert "0 / 8" in page.get_by_test_id(f"presence-{ana.id}").inner_text()  # tickets: load / capacity
    page.goto(live_server.url + "/chat")
    page.get_by_test_id("presence-status").select_option("away")
    page.get_by_test_id("presence-save").click()
    page.wait_for_url("**/chat")
    db.expire_all()
    assert db.get_one(AgentPresence, ana.id).status is PresenceStatus.AWAY
    assert page.goto(live_server.url + "/admin/routing").status == 403
    page.close()

    lead = sign_in(browser.new_page(), live_server, "lee@desk.test")
    lead.goto(live_server.url + "/admin/routing")
    form = lead.get_by_test_id("routing-settings")
    form.locator("select[name=choice]").select_option("round_robin")
    form.locator("input[name=skill_timeout_seconds]").fill("300")
    form.get_by_role("button", name="Save settings").click()
    lead.wait_for_url("**/admin/routing")
    yaml_box = lead.get_by_test_id("routing-yaml")
    assert "choice: round_robin" in yaml_box.input_value()
    yaml_box.fill("skills:\n- name: billing\n  match_tags: [invoice]\n")
    lead.get_by_role("button", name="Import").click()
    lead.wait_for_url("**/admin/routing")
    assert "billing" in lead.get_by_test_id("routing-skills").inner_text()
    lead.get_by_test_id("routing-yaml").fill("skills:\n- name: billing\n  match_tags: 7\n")
    lead.get_by_role("button", name="Import").click()
    assert "skills[0].match_tags" in lead.content()
    lead.goto(live_server.url + "/routing/handovers")
    assert lead.locator("h1").inner_text() == "Hand-overs, last 24 hours"
    lead.close()
    db.expire_all()
    assert db.get_one(RoutingSettings, 1).skill_timeout_seconds == 300
    assert db.scalars(select(Skill.match_tags)).one() == ["invoice"]


def test_an_open_page_keeps_the_agent_from_auto_away(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """The pages send the presence heartbeat: an online agent with a page open is seen now, so the
    auto-away sweep leaves them online; without one they would be turned away."""
    ana = core_actions.create_user(
        db, email="ana@desk.test", name="Ana Agent", role=Role.AGENT, tier=Tier.L1, password=PASSWORD,
        clock=clock,
    )  # fmt: skip
    set_presence(db, agent=ana, status=PresenceStatus.ONLINE, clock=clock, actor=None)
    db.commit()
    clock.advance(timedelta(minutes=20))  # long past auto_away_seconds: last seen 20 minutes ago

    page = browser.new_page()
    with page.expect_response(lambda r: r.url.endswith("/presence/me/heartbeat")) as beat:
        sign_in(page, live_server, "ana@desk.test")  # lands on a page of the desk
    assert beat.value.status == 204
    db.expire_all()
    assert db.get_one(AgentPresence, ana.id).last_seen_at == clock.now()
    assert auto_away(db, clock=clock, idle=timedelta(minutes=10)) == []
    db.commit()
    assert db.get_one(AgentPresence, ana.id).status is PresenceStatus.ONLINE
