"""The pages as a person uses them, in a real browser against the real server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Message, Status, Ticket
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def _arrange(db: Session, clock: FixedClock) -> dict[str, Any]:
    acme = core_actions.create_organisation(db, name="Acme Health", clock=clock)
    other = core_actions.create_organisation(db, name="Other Co", clock=clock)
    agent = core_actions.create_user(
        db,
        email="ana@desk.test",
        name="Ana Agent",
        role=Role.AGENT,
        tier=Tier.L1,
        password=PASSWORD,
        clock=clock,
    )
    l2 = core_actions.create_group(db, name="L2 Engineers", tier=Tier.L2)
    requester = core_actions.create_user(
        db,
        email="rita@acme.test",
        name="Rita Requester",
        role=Role.REQUESTER,
        organisation=acme,
        password=PASSWORD,
        clock=clock,
    )
    stranger = core_actions.create_user(
        db, email="sam@other.test", name="Sam", role=Role.REQUESTER, organisation=other, clock=clock
    )
    ticket = desk_actions.create_ticket(
        db,
        requester=requester,
        subject="Invoice lists too many lives",
        body_text="We were billed for 120 covered lives, we have 100.",
        channel=Channel.EMAIL,
        clock=clock,
    )
    foreign = desk_actions.create_ticket(
        db,
        requester=stranger,
        subject="Other company's problem",
        body_text="Private to Other Co.",
        channel=Channel.EMAIL,
        clock=clock,
    )
    db.commit()
    return {"agent": agent, "requester": requester, "ticket": ticket, "foreign": foreign, "l2": l2}


def test_agent_answers_and_escalates_a_ticket(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _arrange(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "ana@desk.test")
    assert page.title().startswith("Overview")
    assert page.get_by_test_id("count-new").inner_text() == "2"
    page.goto(f"{live_server.url}/tickets?view=all")
    page.click(f"text={data['ticket'].subject}")
    assert "We were billed for 120 covered lives" in page.content()
    page.fill("textarea[name=body]", "Corrected: you are now billed for 100 lives.")
    page.select_option("select[name=then_status]", "pending")
    page.click("form[action$='/messages'] button[type=submit]")
    assert page.get_by_test_id("status").inner_text() == "pending"
    assert len(page.get_by_test_id("message").all()) == 2
    page.fill("input[name=reason]", "Needs a billing system correction")
    page.select_option("form[action$='/escalate'] select[name=group_id]", str(data["l2"].id))
    page.click("form[action$='/escalate'] button[type=submit]")
    assert page.get_by_test_id("tier").inner_text() == "L2"
    db.expire_all()
    ticket = db.get_one(Ticket, data["ticket"].id)
    assert ticket.status is Status.PENDING and ticket.group_id == data["l2"].id
    page.close()


def test_requester_submits_and_follows_only_their_own_requests(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _arrange(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "rita@acme.test")
    assert re.search(r"/portal$", page.url)
    assert data["ticket"].subject in page.content()
    assert data["foreign"].subject not in page.content()
    page.goto(live_server.url + "/portal/new")
    page.fill("input[name=subject]", "Add a second administrator")
    page.fill("textarea[name=body]", "<script>alert(1)</script>Please add Bo as admin.")
    page.click("main button[type=submit]")
    assert page.get_by_test_id("status").inner_text() == "new"
    assert "Please add Bo as admin." in page.content()
    assert page.evaluate("() => document.querySelectorAll('.body script').length") == 0
    response = page.goto(f"{live_server.url}/portal/tickets/{data['foreign'].id}")
    assert response.status == 404
    assert "Private to Other Co." not in page.content()
    page.close()


def test_wrong_password_and_forms_without_csrf_token_are_refused(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _arrange(db, clock)
    with httpx.Client(base_url=live_server.url) as client:
        form = client.get("/signin")
        token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
        assert token is not None
        bad = client.post(
            "/signin", data={"email": "ana@desk.test", "password": "nope", "signin_csrf": token.group(1)}
        )
        assert bad.status_code == 401 and "do not match" in bad.text
        form = client.get("/signin")
        token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
        assert token is not None
        good = client.post(
            "/signin", data={"email": "ana@desk.test", "password": PASSWORD, "signin_csrf": token.group(1)}
        )
        assert good.status_code == 303
        forged = client.post(
            f"/tickets/{data['ticket'].id}/messages", data={"body": "forged", "kind": "reply"}
        )
        assert forged.status_code == 400 and "form expired" in forged.text
    db.expire_all()
    bodies = db.scalars(select(Message.body_text).where(Message.ticket_id == data["ticket"].id)).all()
    assert "forged" not in bodies
