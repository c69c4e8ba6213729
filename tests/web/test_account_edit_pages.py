"""Editing the book in a real browser: a CSM opens their account from its page, types a blank name and
is told so beside the field, raises its covered lives and amends the running contract term; a lead
changes a segment rule, and the account moves segment."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions, contracts
from opsdesk.success.models import Account, PriceModel, Segment, Subscription
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_a_csm_edits_an_account_and_a_lead_changes_a_segment_rule(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    user = {"password": PASSWORD, "clock": clock}
    csm = core_actions.create_user(db, email="cleo@cs.test", name="Cleo Csm", role=Role.CSM, **user)
    core_actions.create_user(db, email="lee@cs.test", name="Lee Lead", role=Role.CS_LEAD, **user)
    account = actions.create_account(db, name="Acme", covered_lives=800, owner=csm, clock=clock)
    contracts.save_subscription(
        db, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31), price_model=PriceModel.PEPM,
        pepm_cents=400, covered_lives=800, clock=clock,
    )  # fmt: skip
    account_id = account.id
    db.commit()

    page = browser.new_page()
    sign_in(page, live_server, "cleo@cs.test")
    page.goto(f"{live_server.url}/customers/{account_id}")
    page.get_by_test_id("edit-link").click()
    page.get_by_test_id("name").fill(" ")
    page.get_by_test_id("covered-lives").fill("1,200")
    page.get_by_test_id("save-account").click()
    assert "needs a name" in page.get_by_test_id("error-name").inner_text()
    assert page.get_by_test_id("covered-lives").input_value() == "1,200"  # the typed value is kept
    page.get_by_test_id("name").fill("Acme Health")
    page.get_by_test_id("save-account").click()
    page.wait_for_url(f"{live_server.url}/customers/{account_id}")
    assert page.get_by_test_id("account-name").inner_text() == "Acme Health"
    assert "Upper mid-market" in page.get_by_test_id("account-header").inner_text()

    page.goto(f"{live_server.url}/customers/{account_id}/edit")
    amend = page.get_by_test_id("amend-term")
    amend.locator("input[name=effective]").fill("2026-03-01")
    amend.locator("input[name=covered_lives]").fill("1200")
    page.get_by_test_id("amend").click()
    page.wait_for_url(f"{live_server.url}/customers/{account_id}/edit#terms")
    assert "2026-03-01" in page.get_by_test_id("terms").inner_text()
    page.close()

    page = browser.new_page()
    sign_in(page, live_server, "lee@cs.test")
    page.goto(f"{live_server.url}/customers/segments")
    section = page.get_by_test_id("segment-Upper mid-market")
    section.get_by_test_id("rules").fill("covered_lives gte 1000\ncovered_lives lte 4999\nregion eq EU")
    section.get_by_test_id("save-segment").click()
    page.wait_for_url(f"{live_server.url}/customers/segments#segment-*")
    assert (
        "region eq EU"
        in page.get_by_test_id("segment-Upper mid-market").get_by_test_id("rules").input_value()
    )
    page.goto(f"{live_server.url}/customers/{account_id}")
    assert "Upper mid-market" not in page.get_by_test_id("account-header").inner_text()  # not in EU
    page.close()

    db.expire_all()
    saved = db.get_one(Account, account_id)
    assert (saved.name, saved.covered_lives) == ("Acme Health", 1200)
    assert saved.segment is None or saved.segment.name != "Upper mid-market"
    rules = db.scalars(select(Segment.rules).where(Segment.name == "Upper mid-market")).one()
    assert {"field": "region", "op": "eq", "value": "EU"} in rules
    amended = db.scalars(select(Subscription).where(Subscription.amends_id.is_not(None))).one()
    assert (amended.start_date, amended.covered_lives) == (date(2026, 3, 1), 1200)
