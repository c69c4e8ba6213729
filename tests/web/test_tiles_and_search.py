"""The overview's tiles open exactly what they count (breaching soon and overdue apart, most urgent
first), and search finds tickets by number, requester name or email, counts and pages them, and
answers any input with a normal page (and the API with the same results)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.desk.models import Status, Ticket
from tests.conftest import LiveServer
from tests.factories import make_token
from tests.history import Cast, add_tickets, make_cast
from tests.web.browsing import sign_in
from tests.web.signin_http import PASSWORD, sign_in_http


def numbers_listed(html: str, testid: str) -> list[int]:
    body = html.split(f'data-testid="{testid}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    # A row may start with the bulk-selection checkbox's cell.
    row = (
        r"<tr[^>]*>\s*(?:<td><input type=\"checkbox\"[^>]*></td>\s*)?<td>(?:<a href=\"/tickets/\d+\">)?(\d+)"
    )
    return [int(n) for n in re.findall(row, body)]


@pytest.fixture
def desk(db: Session, clock: FixedClock) -> dict[str, Any]:
    """Open tickets due at spread times, some overdue; the breaching-soon window is an hour."""
    now = clock.now()
    lead = core_actions.create_user(
        db, email="lead@desk.test", name="Lee Lead", role=Role.SUPPORT_LEAD, password=PASSWORD, clock=clock
    )
    cast = make_cast(db, clock, size=8)
    soon = add_tickets(db, cast, count=7, created=now - timedelta(days=1))
    late = add_tickets(db, cast, count=5, created=now - timedelta(days=2))
    later = add_tickets(db, cast, count=4, created=now - timedelta(days=1))  # due tomorrow
    mine = add_tickets(db, cast, count=3, created=now - timedelta(days=1), assignee=lead)
    add_tickets(
        db,
        cast,
        count=6,
        created=now - timedelta(days=9),
        status=Status.SOLVED,
        solved=now - timedelta(days=2),
        assignee=lead,
    )
    add_tickets(db, cast, count=2, created=now - timedelta(days=1), status=Status.NEW)
    # Due times deliberately out of number order, so a list sorted by number would show it.
    for offset, number in zip([50, 5, 30, 20, 45, 10, 59], soon, strict=True):
        due = now + timedelta(minutes=offset)
        db.execute(update(Ticket).where(Ticket.id == number).values(sla_next_due_at=due))
    for offset, number in zip([3, 300, 60, 7, 1], late, strict=True):
        due = now - timedelta(minutes=offset)
        db.execute(update(Ticket).where(Ticket.id == number).values(sla_next_due_at=due))
    for number in later:
        due = now + timedelta(days=1)
        db.execute(update(Ticket).where(Ticket.id == number).values(sla_next_due_at=due))
    db.execute(update(Ticket).where(Ticket.id.in_(later[:2])).values(assignee_id=None))
    db.commit()
    return {"lead": lead, "soon": soon, "late": late, "mine": mine, "cast": cast}


def _by_due(db: Session, numbers: list[int]) -> list[int]:
    rows = db.execute(select(Ticket.id, Ticket.sla_next_due_at).where(Ticket.id.in_(numbers))).all()
    return [number for number, _due in sorted(rows, key=lambda r: (r[1], r[0]))]


@pytest.mark.browser
def test_every_tile_opens_the_list_of_exactly_what_it_counts(
    browser: Any, live_server: LiveServer, db: Session, desk: dict[str, Any]
) -> None:
    page = browser.new_page()
    sign_in(page, live_server, "lead@desk.test")
    page.goto(live_server.url + "/")
    tiles = page.locator("a.card")
    links = [
        (tiles.nth(i).get_attribute("href"), tiles.nth(i).locator(".metric").inner_text())
        for i in range(tiles.count())
    ]
    assert {href for href, _n in links} >= {
        "/tickets?view=breaching_soon",
        "/tickets?view=overdue",
        "/tickets?view=mine",
        "/tickets?view=unassigned",
        "/tickets?view=all&status=open",
    }
    counted = {}
    for href, shown in links:
        page.goto(live_server.url + str(href))
        listed = numbers_listed(page.content(), "ticket-list")
        assert len(listed) == int(shown.replace(",", "")), href
        counted[href] = listed
    assert counted["/tickets?view=breaching_soon"] == _by_due(db, desk["soon"])
    assert counted["/tickets?view=overdue"] == _by_due(db, desk["late"])
    assert sorted(counted["/tickets?view=mine"]) == desk["mine"]
    assert len(counted["/tickets?view=unassigned"]) == 2


def test_breaching_soon_pages_by_due_time_over_http_and_the_api(
    live_server: LiveServer, db: Session, clock: FixedClock, desk: dict[str, Any]
) -> None:
    token = make_token(db, clock, desk["lead"])
    db.commit()
    expected = _by_due(db, desk["soon"])
    with live_server.client(token) as api:
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"view": "breaching_soon", "limit": 3}
            if cursor:
                params["cursor"] = cursor
            answer = api.get("/api/v1/tickets", params=params).json()
            seen += [t["number"] for t in answer["items"]]
            cursor = answer["next_cursor"]
            if not cursor:
                break
        assert seen == expected
        overdue = api.get("/api/v1/tickets", params={"view": "overdue"}).json()["items"]
        assert [t["number"] for t in overdue] == _by_due(db, desk["late"])


def _search(client: httpx.Client, q: str, cursor: str = "") -> httpx.Response:
    return client.get(f"/search?q={quote(q)}" + (f"&cursor={cursor}" if cursor else ""))


def test_search_finds_by_number_requester_name_and_email_and_pages_with_a_count(
    live_server: LiveServer, db: Session, clock: FixedClock, desk: dict[str, Any]
) -> None:
    cast = desk["cast"]
    now = clock.now()
    wide = add_tickets(db, cast, count=60, created=now - timedelta(days=30), subject="Payroll export")
    org = core_actions.create_organisation(db, name="Quimby Care", clock=clock)
    requester = core_actions.create_user(
        db,
        email="rosalind@quimby.test",
        name="Rosalind Quimby",
        role=Role.REQUESTER,
        organisation=org,
        clock=clock,
    )
    db.flush()
    hers = Cast([org], [requester], cast.agents, cast.groups)
    theirs = sorted(
        add_tickets(db, hers, count=3, created=now - timedelta(days=4), subject="Login"), reverse=True
    )
    db.commit()
    target = desk["late"][1]
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        sign_in_http(client, "lead@desk.test")
        for q in (f"#{target}", f"{target}"):
            html = _search(client, q).text
            assert numbers_listed(html, "search-results")[0] == target, q
        html = _search(client, f"#{target}").text
        assert numbers_listed(html, "search-results") == [target]
        assert "1 ticket matches" in html
        for q in ("Rosalind Quimby", "ROSALIND@quimby.test", "quimby", "rosalind@"):
            html = _search(client, q).text
            assert numbers_listed(html, "search-results") == theirs, q
        first = _search(client, "payroll")
        assert "60 tickets match" in first.text
        page_one = numbers_listed(first.text, "search-results")
        cursor = re.search(r'data-testid="search-next" href="[^"]*cursor=([^"&]+)"', first.text)
        assert cursor is not None and len(page_one) == 50
        page_two = numbers_listed(_search(client, "payroll", cursor.group(1)).text, "search-results")
        assert page_one + page_two == sorted(wide, reverse=True)
    token = make_token(db, clock, desk["lead"])
    db.commit()
    with live_server.client(token) as api:
        answer = api.get("/api/v1/search", params={"q": "payroll", "limit": 50}).json()
        assert answer["total"] == 60 and not answer["more"]
        rest = api.get("/api/v1/search", params={"q": "payroll", "cursor": answer["next_cursor"]}).json()
        assert [h["ticket"]["number"] for h in answer["items"] + rest["items"]] == sorted(wide, reverse=True)
        by_email = api.get("/api/v1/search", params={"q": "rosalind@quimby.test"}).json()
        assert [h["ticket"]["number"] for h in by_email["items"]] == theirs
        assert api.get("/api/v1/search", params={"q": f"#{target}"}).json()["total"] == 1


@pytest.mark.parametrize("q", ["%", "_", "'", '"', "%%_'\"", "a\x00b", "x" * 10_000, "#", "#99999999999"])
def test_odd_search_input_shows_a_normal_page(
    live_server: LiveServer, db: Session, desk: dict[str, Any], q: str
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        sign_in_http(client, "lead@desk.test")
        answer = _search(client, q)
    assert answer.status_code == 200
    assert "Search tickets" in answer.text
    assert 'data-testid="search-results"' in answer.text or 'data-testid="search-problem"' in answer.text
