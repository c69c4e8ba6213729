"""Break-glass: a support lead or admin reads a sensitive ticket outside their need-to-know only by
asking, with a reason, for 15 minutes, read only; the grant is in the audit log and shows on the ticket
(API and page) to everyone who may see the ticket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry
from tests.conftest import LiveServer
from tests.desk.test_access_matrix import World, build_world
from tests.factories import PASSWORD, make_token
from tests.web.browsing import sign_in

REASON = "Member complaint C-1142 escalated to compliance; checking what we told them"


@pytest.fixture
def world(db: Session, clock: FixedClock) -> World:
    return build_world(db, clock)


@pytest.fixture
def clients(db: Session, clock: FixedClock, world: World, live_server: LiveServer) -> dict[str, httpx.Client]:
    tokens = {name: make_token(db, clock, user) for name, user in world.people.items()}
    db.commit()
    return {name: live_server.client(token) for name, token in tokens.items()}


def _actions(session_factory: sessionmaker[Session], actor_id: int) -> list[tuple[str, dict[str, Any]]]:
    with session_factory() as fresh:
        rows = fresh.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.actor_id == actor_id, AuditEntry.subject_type == "ticket")
            .order_by(AuditEntry.id)
        ).all()
    return [(r.action, r.detail) for r in rows]


def test_an_admin_reads_a_sensitive_ticket_only_after_breaking_the_glass_with_a_reason(
    world: World,
    clients: dict[str, httpx.Client],
    clock: FixedClock,
    session_factory: sessionmaker[Session],
) -> None:
    admin, number = clients["admin"], world.sensitive.id
    assert admin.get(f"/api/v1/tickets/{number}").status_code == 404
    path = f"/api/v1/tickets/{number}/break-glass"
    short = admin.post(path, json={"reason": "  need   it "})
    assert short.status_code == 422 and short.json()["error"]["field"] == "reason"
    assert admin.post(path, json={}).status_code == 422
    normal = admin.post(f"/api/v1/tickets/{world.normal.id}/break-glass", json={"reason": REASON})
    assert normal.status_code == 422 and normal.json()["error"]["field"] == "number"
    assert admin.post("/api/v1/tickets/2147483647/break-glass", json={"reason": REASON}).status_code == 404

    granted = admin.post(path, json={"reason": REASON})
    assert granted.status_code == 201, granted.text
    grant = granted.json()
    assert grant["actor"]["id"] == world.people["admin"].id and grant["reason"] == REASON
    assert grant["ticket_number"] == number
    assert grant["expires_at"] == (clock.now() + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    read = admin.get(f"/api/v1/tickets/{number}")
    assert read.status_code == 200 and read.json()["subject"] == world.sensitive.subject
    messages = admin.get(f"/api/v1/tickets/{number}/messages").json()
    assert any(not m["public"] for m in messages)  # staff read the whole ticket, notes included
    # Read only: breaking the glass gives no right to change the ticket.
    assert admin.patch(f"/api/v1/tickets/{number}", json={"priority": "high"}).status_code == 404
    assert admin.post(f"/api/v1/tickets/{number}/messages", json={"body_text": "hi"}).status_code == 404

    clock.advance(timedelta(minutes=15, seconds=1))
    assert admin.get(f"/api/v1/tickets/{number}").status_code == 404

    audited = _actions(session_factory, world.people["admin"].id)
    assert audited[0] == ("ticket_read_denied", {})
    assert ("break_glass", {"reason": REASON, "expires_at": grant["expires_at"].replace("Z", "+00:00")}) in (
        audited
    )
    assert ("ticket_read", {"break_glass": grant["id"]}) in audited
    assert audited[-1] == ("ticket_read_denied", {})


def test_only_leads_and_admins_may_break_the_glass_and_everyone_who_sees_the_ticket_sees_it(
    world: World, clients: dict[str, httpx.Client]
) -> None:
    number = world.sensitive.id
    path = f"/api/v1/tickets/{number}/break-glass"
    for name in ("agent_l1", "analyst", "csm", "qa_reviewer", "requester_org"):
        assert clients[name].post(path, json={"reason": REASON}).status_code == 403, name
    assert clients["support_lead"].post(path, json={"reason": REASON}).status_code == 201
    assert clients["support_lead"].get(f"/api/v1/tickets/{number}").status_code == 200
    for name in ("agent_l2", "requester_own", "support_lead"):
        shown = clients[name].get(path)
        assert shown.status_code == 200, name
        assert [(g["actor"]["id"], g["reason"]) for g in shown.json()] == [
            (world.people["support_lead"].id, REASON)
        ]
    assert clients["agent_l1"].get(path).status_code == 404
    assert clients["agent_l2"].post(path, json={"reason": REASON}).status_code == 403


@pytest.mark.browser
def test_the_page_asks_for_a_reason_and_the_ticket_shows_the_break_glass_read(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock, world: World
) -> None:
    for name in ("admin", "agent_l2"):
        core_actions.set_password(db, user=world.people[name], password=PASSWORD, clock=clock, actor=None)
    db.commit()
    page = browser.new_page()
    sign_in(page, live_server, "admin@example.com")
    response = page.goto(f"{live_server.url}/tickets/{world.sensitive.id}")
    assert response.status == 404
    assert world.sensitive.subject not in page.content()
    page.fill("textarea[name=reason]", "too short")
    page.click("main button[type=submit]")  # the browser holds back a reason under 10 characters
    assert page.get_by_test_id("break-glass").is_visible() and world.sensitive.subject not in page.content()
    # What a form can send that the API's schema refuses: a NUL, a number out of range.
    cookies = {str(c["name"]): str(c["value"]) for c in page.context.cookies()}
    with httpx.Client(base_url=live_server.url, cookies=cookies) as raw:
        csrf = page.get_by_test_id("break-glass").locator("input[name=csrf_token]").get_attribute("value")
        nul = raw.post(
            f"/tickets/{world.sensitive.id}/break-glass", data={"reason": "\x00" * 20, "csrf_token": csrf}
        )
        assert nul.status_code == 422 and "at least 10 characters" in nul.text
        huge = raw.post("/tickets/2147483648/break-glass", data={"reason": REASON, "csrf_token": csrf})
        assert huge.status_code == 404  # a number out of range names no page
    page.fill("textarea[name=reason]", REASON)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/tickets/{world.sensitive.id}")
    assert world.sensitive.subject in page.content()
    assert page.get_by_test_id("breaking-glass").is_visible()
    assert page.locator("textarea[name=body]").count() == 0  # read only: no reply form
    reads = page.get_by_test_id("break-glass-read")
    assert reads.count() == 1 and REASON in reads.inner_text() and "admin" in reads.inner_text()
    page.close()

    colleague = browser.new_page()
    sign_in(colleague, live_server, "agent_l2@example.com")
    colleague.goto(f"{live_server.url}/tickets/{world.sensitive.id}")
    assert colleague.get_by_test_id("breaking-glass").count() == 0
    assert REASON in colleague.get_by_test_id("break-glass-reads").inner_text()
    colleague.close()
