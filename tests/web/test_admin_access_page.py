"""The admin's access page in a real browser: last sign-ins and tokens are listed, Deactivate ends the
person's open session and tokens at once, Revoke ends one token; others may not open it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import ApiToken, AuditEntry, Role, Tier, User
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_admin_deactivates_a_signed_in_agent_and_revokes_a_token(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    user = {"password": PASSWORD, "clock": clock}
    admin = core_actions.create_user(db, email="ada@desk.test", name="Ada Admin", role=Role.ADMIN, **user)
    agent = core_actions.create_user(
        db, email="ana@desk.test", name="Ana Agent", role=Role.AGENT, tier=Tier.L1, **user
    )
    agent_token, _clear = core_actions.create_api_token(db, user=agent, name="agent-crm", clock=clock)
    admin_token, _clear = core_actions.create_api_token(db, user=admin, name="admin-sync", clock=clock)
    db.commit()
    agent_page = sign_in(browser.new_page(), live_server, "ana@desk.test")
    assert agent_page.goto(live_server.url + "/admin/access").status == 403
    page = sign_in(browser.new_page(), live_server, "ada@desk.test")
    page.click("header >> text=Access")
    row = page.get_by_test_id("person-ana@desk.test")
    assert "2026-03-02 09:00" in row.inner_text() and row.get_by_test_id("status").inner_text() == "active"
    assert page.get_by_test_id(f"token-{agent_token.id}").get_by_test_id("status").inner_text() == "active"
    row.get_by_role("button", name="Deactivate").click()
    page.wait_for_url("**/admin/access")
    assert page.get_by_test_id("person-ana@desk.test").get_by_test_id("status").inner_text() == "deactivated"
    assert page.get_by_test_id(f"token-{agent_token.id}").get_by_test_id("status").inner_text() == "revoked"
    agent_page.goto(live_server.url + "/tickets")
    assert "/signin" in agent_page.url
    page.get_by_test_id(f"token-{admin_token.id}").get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/admin/access")
    assert page.get_by_test_id(f"token-{admin_token.id}").get_by_test_id("status").inner_text() == "revoked"
    page.get_by_test_id("person-ana@desk.test").get_by_role("button", name="Reactivate").click()
    page.wait_for_url("**/admin/access")
    assert page.get_by_test_id("person-ana@desk.test").get_by_test_id("status").inner_text() == "active"
    page.close()
    agent_page.close()
    db.expire_all()
    assert db.get_one(User, agent.id).active is True
    assert all(db.scalars(select(ApiToken.revoked_at)).all())
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == admin.id)).all()
    assert {"user_deactivated", "api_token_revoked", "user_reactivated"} <= set(actions)
