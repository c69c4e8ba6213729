"""Pages whose cost must not grow with history: each page runs the same number of SQL statements on a
small history and on one several times larger (more tickets, solved ones, a year of daily health
snapshots), and a 50-ticket list loads its organisations, people and groups in one statement each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.desk.models import Status
from opsdesk.success import actions as success_actions
from tests.conftest import LiveServer
from tests.history import add_daily_scores, add_tickets, make_cast
from tests.web.signin_http import PASSWORD, sign_in_http


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_per_page(client: httpx.Client, engine: Engine, paths: list[str]) -> dict[str, int]:
    counts = {}
    for path in paths:
        client.get(path)  # warm the per-process caches (configuration, policies) first
        with counting(engine) as statements:
            answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        counts[path] = len(statements)
    return counts


def rows_in(html: str, testid: str) -> int:
    table = html.split(f'data-testid="{testid}"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>") - body.count('class="muted">No tickets')


def test_pages_run_as_many_statements_on_a_long_history_as_on_a_short_one(
    live_server: LiveServer, engine: Engine, db: Session, clock: FixedClock
) -> None:
    now = clock.now()
    lead = core_actions.create_user(
        db, email="lead@desk.test", name="Lee Lead", role=Role.SUPPORT_LEAD, password=PASSWORD, clock=clock
    )
    cast = make_cast(db, clock, size=60)
    org = cast.organisations[0]
    accounts = [
        success_actions.create_account(
            db, name=f"Account {i}", covered_lives=100, organisation=org if i == 0 else None, clock=clock
        )
        for i in range(3)
    ]
    first = add_tickets(db, cast, count=20, created=now - timedelta(days=2))
    add_tickets(db, cast, count=4, created=now - timedelta(days=1), due=now + timedelta(minutes=20))
    add_tickets(db, cast, count=4, created=now - timedelta(days=1), due=now - timedelta(minutes=20))
    add_tickets(db, cast, count=3, created=now - timedelta(days=1), assignee=lead)
    add_daily_scores(db, [a.id for a in accounts], last=now.date(), days=3)
    db.commit()
    paths = [
        "/",
        "/tickets?view=all",
        "/tickets?view=mine",
        "/tickets?view=unassigned",
        "/tickets?view=breaching_soon",
        "/tickets?view=overdue",
        f"/tickets/{first[0]}",
        "/search?q=invoice",
        f"/search?q=%23{first[0]}",
        "/search?q=c-req1%40cust1.test",
        "/customers",
        f"/customers/{accounts[0].id}",
    ]
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        sign_in_http(client, "lead@desk.test")
        short = statements_per_page(client, engine, paths)
        html = client.get("/tickets?view=all").text
        assert rows_in(html, "ticket-list") == 31
        # Five times the open tickets, many solved ones in the last weeks, a year of daily scores.
        add_tickets(db, cast, count=120, created=now - timedelta(days=1))
        add_tickets(db, cast, count=20, created=now - timedelta(hours=3), due=now + timedelta(minutes=20))
        add_tickets(db, cast, count=20, created=now - timedelta(hours=3), due=now - timedelta(minutes=20))
        add_tickets(db, cast, count=12, created=now - timedelta(days=1), assignee=lead)
        add_tickets(
            db,
            cast,
            count=300,
            created=now - timedelta(days=20),
            status=Status.SOLVED,
            solved=now - timedelta(days=3),
        )
        add_daily_scores(db, [a.id for a in accounts], last=now.date() - timedelta(days=3), days=362)
        db.commit()
        long = statements_per_page(client, engine, paths)
        html = client.get("/tickets?view=all").text
        assert rows_in(html, "ticket-list") == 50
    print(short)
    assert long == short
    assert short["/tickets?view=all"] <= 16, short


def test_the_api_ticket_list_runs_a_fixed_handful_of_statements(
    live_server: LiveServer, engine: Engine, db: Session, clock: FixedClock
) -> None:
    """Integrations poll the list all day: a page of 50 runs the token check, the page with its
    requesters, and its tags, however many tickets there are, and loads nothing it does not show."""
    agent = core_actions.create_user(
        db, email="api@desk.test", name="Api Agent", role=Role.AGENT, tier=Tier.L1, clock=clock
    )
    _row, token = core_actions.create_api_token(db, user=agent, name="poller", clock=clock)
    cast = make_cast(db, clock, size=30)
    add_tickets(db, cast, count=10, created=clock.now() - timedelta(days=1))
    db.commit()
    path = "/api/v1/tickets?limit=50"
    with live_server.client(token) as client:
        small = statements_per_page(client, engine, [path])[path]
        add_tickets(db, cast, count=120, created=clock.now() - timedelta(hours=5))
        db.commit()
        with counting(engine) as statements:
            answer = client.get(path)
    assert answer.status_code == 200
    page = answer.json()
    assert len(page["items"]) == 50 and page["next_cursor"]
    assert all(item["requester"]["name"] for item in page["items"])
    assert len(statements) == small <= 4, statements
    # The reader's own groups (need-to-know), but no ticket's organisation or group: the API shows ids.
    assert not any(s.startswith("SELECT organisations") for s in statements), statements
    assert [s for s in statements if s.startswith("SELECT groups")] == [
        s for s in statements if "group_members" in s
    ], statements
