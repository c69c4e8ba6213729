"""The lifecycle page in a real browser: a CSM names the renewal owner, opens the hand-off to the next
stage, is refused while a required check is open, completes it, and the renewal owner's hand-off tasks
exist; the time-in-stage report lists the account."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.success import actions
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks.models import Task
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_a_csm_hands_an_account_to_the_renewal_owner_with_the_checklist(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    user = {"password": PASSWORD, "clock": clock}
    csm = core_actions.create_user(db, email="cleo@cs.test", name="Cleo Csm", role=Role.CSM, **user)
    rae = core_actions.create_user(db, email="rae@cs.test", name="Rae Renewals", role=Role.CSM, **user)
    account = actions.create_account(
        db, name="Acme Health", covered_lives=1500, owner=csm, stage=Stage.ADOPTION,
        stage_since=date(2025, 5, 1), clock=clock,
    )  # fmt: skip
    db.commit()

    page = browser.new_page()
    sign_in(page, live_server, "cleo@cs.test")
    page.goto(f"{live_server.url}/customers/{account.id}")
    page.get_by_test_id("lifecycle-link").click()
    page.get_by_test_id("owner-renewal").select_option(label="Rae Renewals")
    page.get_by_test_id("save-owners").click()
    assert "Renewal owner: Rae Renewals" in page.get_by_test_id("owners").inner_text()

    assert page.get_by_test_id("next-stage").input_value() == "renewal"  # the usual next stage first
    hand_off = page.get_by_test_id("hand-off")
    assert "Hand-off tasks for Rae Renewals" in hand_off.inner_text()
    page.get_by_label("Contract end date and ARR confirmed").check()
    page.get_by_test_id("complete-hand-off").click()
    assert "Health and open risks summarised" in page.get_by_test_id("error").inner_text()
    assert page.get_by_label("Contract end date and ARR confirmed").is_checked()  # the ticks are kept
    page.get_by_label("Health and open risks summarised for the renewal owner").check()
    page.fill("input[name=note]", "Budget review in April")
    page.get_by_test_id("complete-hand-off").click()
    page.wait_for_url(f"{live_server.url}/customers/{account.id}/lifecycle")
    assert page.get_by_test_id("stage").inner_text() == "renewal"
    tasks = page.get_by_test_id("open-tasks").inner_text()
    assert "Plan the renewal conversation · Rae Renewals" in tasks
    history = page.get_by_test_id("stage-history").inner_text()
    assert "2025-05-01" in history and "305" in history  # 1 May 2025 to today in adoption

    db.expire_all()
    assert db.get_one(Account, account.id).stage is Stage.RENEWAL
    owned = db.scalars(select(Task.title).where(Task.owner_id == rae.id).order_by(Task.id)).all()
    assert owned == ["Plan the renewal conversation", "Prepare the value review for the customer"]
    answers = db.scalars(select(Event.data).where(Event.type == "handoff_completed")).one()
    assert answers["note"] == "Budget review in April"
    assert [a["done"] for a in answers["checklist"]] == [True, True, False]

    page.goto(f"{live_server.url}/customers/lifecycle")
    assert "Acme Health" in page.get_by_test_id("account-timing").inner_text()
    assert "Upper mid-market" in page.get_by_test_id("segment-medians").inner_text()
    page.close()
