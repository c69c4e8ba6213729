"""Security headers in a real browser: every page and API answer sends the CSP and its companions, the
main pages run under that CSP without a single violation, and no page can be framed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.web.security_headers import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in
from tests.web.test_success_pages import _book

pytestmark = pytest.mark.browser


def _assert_secured(headers: Any, url: str, *, cached: bool = False) -> None:
    assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, url
    assert headers.get("x-frame-options") == "DENY", url
    assert headers.get("x-content-type-options") == "nosniff", url
    assert headers.get("referrer-policy") == "no-referrer", url
    if not cached:
        assert headers.get("cache-control") == "no-store", url


def _watch_violations(page: Any) -> list[str]:
    """Chromium reports each CSP refusal ("Refused to apply inline style ...") on the console."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Refused" in message.text else None)
    return seen


def _assert_all_secured(responses: list[Any]) -> int:
    """Checks (and forgets) the answers seen so far: every document secured, the stylesheet cacheable.
    Returns how many documents were checked."""
    documents = [r for r in responses if r.request.resource_type == "document"]
    for response in documents:
        _assert_secured(response.all_headers(), response.url)
    for response in responses:
        if response.url.endswith("/static/app.css") and response.status == 200:
            assert "no-store" not in response.all_headers().get("cache-control", "")
    responses.clear()
    return len(documents)


def test_main_pages_send_the_headers_and_run_under_the_csp(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _book(db, clock)
    core_actions.create_user(
        db, email="ada@desk.test", name="Ada Admin", role=Role.ADMIN, password=PASSWORD, clock=clock
    )
    db.commit()
    page = browser.new_page()
    violations = _watch_violations(page)
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    sign_in(page, live_server, "ada@desk.test")
    ticket = data["ticket"]
    for path in (
        "/",
        "/tickets?view=all",
        f"/tickets/{ticket.id}",
        "/search?q=eligibility",
        "/customers",
        f"/customers/{data['acme'].id}",
        "/customers/retention",
        "/planner",
        "/admin/access",
    ):
        answer = page.goto(live_server.url + path)
        assert answer.status == 200, path
    # The retention heatmap keeps its colours through classes now that style attributes are refused.
    page.goto(live_server.url + "/customers/retention")
    shaded = page.evaluate(
        "() => [...document.querySelectorAll('table.heatmap td[class^=heat]')]"
        ".map(td => getComputedStyle(td).backgroundColor)"
    )
    assert shaded and all(colour.startswith("rgba(") for colour in shaded)
    checked = _assert_all_secured(responses)
    page.close()
    requester = browser.new_page()
    violations += _watch_violations(requester)
    requester.on("response", lambda r: responses.append(r))
    sign_in(requester, live_server, "rita@acme.test")
    requester.goto(live_server.url + "/portal/new")
    requester.goto(f"{live_server.url}/portal/tickets/{ticket.id}")
    assert checked + _assert_all_secured(responses) >= 15
    requester.close()
    assert violations == []


def test_no_page_can_be_framed(browser: Any, live_server: LiveServer) -> None:
    page = browser.new_page()
    page.set_content(f'<iframe src="{live_server.url}/signin"></iframe>')  # waits for the frame's load
    framed = page.frames[1]
    assert framed.url.startswith("chrome-error://")  # Chromium's page for a refused frame
    assert framed.query_selector("input[name=email]") is None
    page.close()


def test_api_answers_and_errors_send_the_headers(live_server: LiveServer) -> None:
    with httpx.Client(
        base_url=live_server.url, timeout=60
    ) as client:  # the OpenAPI document is built on first use
        for path in ("/api/v1/users/me", "/api/v1/tickets/2147483648", "/healthz", "/api/v1/openapi.json"):
            answer = client.get(path)
            _assert_secured(answer.headers, path)
