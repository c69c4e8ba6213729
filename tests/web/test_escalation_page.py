"""Escalation on the ticket page: the reason shows, no group means the default L2 group, and an L2
engineer sends the ticket back to L1 with a reason that the page shows and the event log keeps."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Ticket
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_escalate_without_a_group_then_send_back_to_l1_on_the_page(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    advocates = core_actions.create_group(db, name="Advocates", tier=Tier.L1)
    core_actions.create_group(db, name="L2 Support Engineers", tier=Tier.L2)
    people = {"password": PASSWORD, "clock": clock}
    core_actions.create_user(db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L1, **people)
    core_actions.create_user(db, email="lev@desk.test", name="Lev", role=Role.AGENT, tier=Tier.L2, **people)
    rita = core_actions.create_user(db, email="rita@acme.test", name="Rita", role=Role.REQUESTER, clock=clock)
    ticket = desk_actions.create_ticket(
        db, requester=rita, subject="SSO loop", body_text="We loop on sign-in.", channel=Channel.EMAIL,
        clock=clock, group=advocates,
    )  # fmt: skip
    db.commit()
    number = ticket.id

    page = browser.new_page()
    sign_in(page, live_server, "ana@desk.test")
    page.goto(f"{live_server.url}/tickets/{number}")
    assert page.locator("form[action$='/return-to-l1']").count() == 0  # not for L1
    assert "L2 Support Engineers (default)" in page.inner_text("form[action$='/escalate']")
    page.fill("form[action$='/escalate'] input[name=reason]", "IdP metadata changed; needs L2")
    page.click("form[action$='/escalate'] button[type=submit]")
    assert page.get_by_test_id("tier").inner_text() == "L2"
    assert page.get_by_test_id("escalation-reason").inner_text() == "IdP metadata changed; needs L2"
    assert "L2 Support Engineers" in page.inner_text("aside")
    page.close()

    page = browser.new_page()
    sign_in(page, live_server, "lev@desk.test")
    page.goto(f"{live_server.url}/tickets/{number}")
    page.fill("form[action$='/return-to-l1'] input[name=reason]", "Customer must re-upload metadata")
    page.click("form[action$='/return-to-l1'] button[type=submit]")
    assert page.get_by_test_id("tier").inner_text() == "L1"
    assert page.get_by_test_id("return-reason").inner_text() == "Customer must re-upload metadata"
    assert page.get_by_test_id("escalation-reason").count() == 0
    page.close()

    db.expire_all()
    stored = db.get_one(Ticket, number)
    assert (stored.tier, stored.group_id) == (Tier.L1, advocates.id)
    assert stored.return_reason == "Customer must re-upload metadata"
    events = db.scalars(
        select(Event.type).where(Event.subject_id == number, Event.type.in_(["escalated", "returned_to_l1"]))
    ).all()
    assert events == ["escalated", "returned_to_l1"]
