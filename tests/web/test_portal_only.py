"""Requesters belong in the portal: the staff ticket views, search and ticket page send them there, and
what they are shown never carries the team's own fields (SLA due times, group, tier, assignee)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Message
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in
from tests.web.test_page_errors import signed_in


def _arrange(db: Session, clock: FixedClock) -> dict[str, Any]:
    acme = core_actions.create_organisation(db, name="Acme Health", clock=clock)
    other = core_actions.create_organisation(db, name="Other Co", clock=clock)
    agent = core_actions.create_user(
        db, email="ana@desk.test", name="Anastasia Agentova", role=Role.AGENT, tier=Tier.L1, clock=clock
    )
    group = core_actions.create_group(db, name="Billing Advocates", tier=Tier.L1)
    rita = core_actions.create_user(
        db,
        email="rita@acme.test",
        name="Rita Requester",
        role=Role.REQUESTER,
        organisation=acme,
        password=PASSWORD,
        clock=clock,
    )
    sam = core_actions.create_user(
        db, email="sam@other.test", name="Sam", role=Role.REQUESTER, organisation=other, clock=clock
    )
    own = desk_actions.create_ticket(
        db,
        requester=rita,
        subject="Invoice lists too many lives",
        body_text="Billed 120, have 100.",
        channel=Channel.EMAIL,
        clock=clock,
    )
    desk_actions.assign(db, ticket=own, assignee=agent, group=group, actor=None, clock=clock)
    foreign = desk_actions.create_ticket(
        db,
        requester=sam,
        subject="Other company's problem",
        body_text="Private to Other Co.",
        channel=Channel.EMAIL,
        clock=clock,
    )
    db.commit()
    return {"own": own, "foreign": foreign}


@pytest.mark.browser
def test_a_signed_in_requester_is_kept_to_the_portal(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _arrange(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "rita@acme.test")
    for path in ("/tickets", "/tickets?view=all", "/tickets?view=breaching_soon", "/search?q=invoice", "/"):
        page.goto(live_server.url + path)
        assert re.search(r"/portal$", page.url), path
        assert page.get_by_test_id("request-list").is_visible()
    page.goto(f"{live_server.url}/tickets/{data['own'].id}")
    assert page.url.endswith(f"/portal/tickets/{data['own'].id}")
    shown = page.inner_text("body")
    assert "Billed 120, have 100." in shown
    for internal in ("SLA", "Billing Advocates", "Anastasia", "Tier", "L1", "Assignee", "Group"):
        assert internal not in shown, internal
    response = page.goto(f"{live_server.url}/tickets/{data['foreign'].id}")
    assert response.status == 404
    assert "Private to Other Co." not in page.content()
    assert "Not found" in page.inner_text("h1")
    page.close()


def test_a_requesters_post_to_a_staff_form_is_never_acted_on(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _arrange(db, clock)
    client = signed_in(live_server, "rita@acme.test")
    form = client.get(f"/portal/tickets/{data['own'].id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    number = data["own"].id
    posts = {
        f"/tickets/{number}/messages": {"body": "posted as if an agent", "kind": "reply"},
        f"/tickets/{number}/status": {"status": "solved"},
        f"/tickets/{number}/escalate": {"reason": "please"},
    }
    for path, fields in posts.items():
        response = client.post(path, data={"csrf_token": token.group(1), **fields})
        assert response.status_code == 303 and response.headers["location"] == "/portal", path
    db.expire_all()
    bodies = db.scalars(select(Message.body_text).where(Message.ticket_id == number)).all()
    assert "posted as if an agent" not in bodies
    assert data["own"].status.value == "new"
