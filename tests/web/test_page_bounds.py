"""Pages bound their ids, filters and form fields as the API does: bad input is a 404 or 400 page (HTML,
not JSON), never a 500, and nothing is written."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Message, Ticket
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user

BIG = str(2**31)


@pytest.fixture
def signed_in(db: Session, clock: FixedClock, live_server: LiveServer) -> Iterator[tuple[httpx.Client, int]]:
    admin = make_user(db, clock, Role.ADMIN, email="admin@desk.test")
    requester = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    ticket = desk_actions.create_ticket(
        db, requester=requester, subject="Lives", body_text="Too many", channel=Channel.EMAIL, clock=clock
    )
    db.commit()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        form = client.get("/signin")
        token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
        assert token is not None
        signed = client.post(
            "/signin", data={"email": admin.email, "password": PASSWORD, "signin_csrf": token.group(1)}
        )
        assert signed.status_code == 303, signed.text
        yield client, ticket.id


def _html_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "url",
    [
        f"/tickets/{BIG}",
        "/tickets/0",
        f"/portal/tickets/{BIG}",
        f"/customers/{BIG}",
        f"/planner/{BIG}",
        "/customers/abc",
    ],
)
def test_ids_out_of_range_are_a_404_page(signed_in: tuple[httpx.Client, int], url: str) -> None:
    _html_error(signed_in[0].get(url), 404)


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/tickets", {"status": "open\x00"}),
        ("/tickets", {"cursor": "c" * 201}),
        ("/customers", {"segment": "\x00"}),
        ("/signin", {"next": "/\x00"}),
    ],
)
def test_bad_filters_are_a_400_page(
    signed_in: tuple[httpx.Client, int], url: str, params: dict[str, str]
) -> None:
    _html_error(signed_in[0].get(url, params=params), 400)


def test_bad_form_fields_are_a_400_page_and_write_nothing(
    signed_in: tuple[httpx.Client, int], db: Session
) -> None:
    client, number = signed_in
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tickets/{number}").text)
    assert csrf is not None
    token = csrf.group(1)
    posts = [
        (f"/tickets/{number}/messages", {"body": "a\x00b", "kind": "reply"}),
        (f"/tickets/{number}/assign", {"assignee_id": BIG}),
        (f"/tickets/{number}/escalate", {"reason": "why", "group_id": "99999999999"}),
        (f"/tickets/{number}/escalate", {"reason": "x\x00"}),
        ("/portal/new", {"subject": "s\x00", "body": "b"}),
        (f"/portal/tickets/{number}/reply", {"body": "\x00"}),
    ]
    for url, data in posts:
        _html_error(client.post(url, data={**data, "csrf_token": token}), 400)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1
    assert db.scalar(select(func.count()).select_from(Message)) == 1
    assert db.get(Ticket, number).assignee_id is None  # type: ignore[union-attr]
