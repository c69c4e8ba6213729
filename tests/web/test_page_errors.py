"""A page that goes wrong answers with an HTML page a person can read; the API keeps its JSON errors."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from tests.conftest import LiveServer
from tests.factories import PASSWORD


def signed_in(server: LiveServer, email: str) -> httpx.Client:
    """An HTTP client holding a browser session, signed in through the form as a browser does."""
    client = httpx.Client(base_url=server.url, timeout=30)
    form = client.get("/signin")
    token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/signin", data={"email": email, "password": PASSWORD, "signin_csrf": token.group(1)})
    assert done.status_code == 303
    return client


@pytest.fixture
def lead_client(live_server: LiveServer, db: Session, clock: FixedClock) -> httpx.Client:
    core_actions.create_user(
        db,
        email="lee@desk.test",
        name="Lee Lead",
        role=Role.SUPPORT_LEAD,
        password=PASSWORD,
        clock=clock,
    )
    core_actions.create_user(
        db, email="cleo@cs.test", name="Cleo Csm", role=Role.CS_LEAD, password=PASSWORD, clock=clock
    )
    db.commit()
    return signed_in(live_server, "lee@desk.test")


def _is_html_page(response: httpx.Response, status: int, title: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{title}</h1>" in response.text
    assert '"error"' not in response.text


@pytest.mark.parametrize(
    "path",
    ["/tickets/abc", "/tickets/0", "/tickets/99999999999", "/portal/tickets/x", "/nowhere"],
)
def test_bad_or_unknown_ids_on_pages_render_an_html_404(lead_client: httpx.Client, path: str) -> None:
    _is_html_page(lead_client.get(path), 404, "Not found")


def test_an_unknown_ticket_number_is_a_404_page_for_a_lead_too(lead_client: httpx.Client) -> None:
    """A lead may ask for a break-glass read, so the 404 page offers the form, the same whether the
    number exists or not (tests/web/test_break_glass.py)."""
    response = lead_client.get("/tickets/4242")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert '"error"' not in response.text


@pytest.mark.parametrize(
    "path", ["/customers/abc", "/customers/99999999999", "/customers/77", "/planner/abc"]
)
def test_customer_and_planner_pages_render_an_html_404(
    live_server: LiveServer, lead_client: httpx.Client, path: str
) -> None:
    _is_html_page(signed_in(live_server, "cleo@cs.test").get(path), 404, "Not found")


def test_the_api_keeps_json_errors(live_server: LiveServer, lead_client: httpx.Client) -> None:
    for path in ("/api/v1/tickets/abc", "/api/v1/tickets/4242", "/api/v1/nowhere"):
        response = lead_client.get(path)
        assert response.headers["content-type"].startswith("application/json")
        assert "error" in response.json()
    assert lead_client.get("/api/v1/tickets/4242").status_code == 404


@pytest.mark.parametrize(
    ("query", "named", "choice"),
    [
        ("status=bogus", "There is no ticket status &#39;bogus&#39;", "pending"),
        ("view=bogus", "There is no ticket view &#39;bogus&#39;", "breaching_soon"),
    ],
)
def test_an_unknown_list_filter_is_a_400_page_that_names_the_choices(
    lead_client: httpx.Client, query: str, named: str, choice: str
) -> None:
    response = lead_client.get(f"/tickets?{query}")
    _is_html_page(response, 400, "Check the address")
    assert named in response.text and choice in response.text
    assert 'data-testid="ticket-list"' not in response.text


def test_a_known_status_still_filters(lead_client: httpx.Client) -> None:
    response = lead_client.get("/tickets?view=all&status=pending")
    assert response.status_code == 200 and "All tickets · pending" in response.text
