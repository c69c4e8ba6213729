"""GET /api/v1/escalations over real HTTP: each row carries what ranks it (the customer's ARR, the
account's covered lives and name), in the page's order, and the number of SQL statements a request runs
does not grow with the number of escalations (accounts, owners, tickets and timelines load in batches)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, User
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import Account, PriceModel
from opsdesk.success.voice import actions as voice
from opsdesk.success.voice.models import Severity
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.signin_http import sign_in_http


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block (the live server shares the engine)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _escalated(
    db: Session, clock: FixedClock, owner: User, n: int, *, parent: Account | None = None
) -> Account:
    account = success.create_account(
        db, name=f"Employer {n:02d}", covered_lives=100 * (n + 1), owner=owner, parent=parent, clock=clock
    )
    if parent is None:
        contracts.save_subscription(
            db, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31),
            price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=(n + 1) * 1_000_000, clock=clock,
        )  # fmt: skip
    voice.open_escalation(
        db, account=account, severity=Severity.SEV2, title=f"Trouble {n}", owner=owner,
        executive_sponsor=None, ticket_numbers=[1000 + n, 2000 + n], note="first note", actor=owner,
        clock=clock,
    )  # fmt: skip
    return account


def test_each_row_carries_arr_lives_and_name_in_the_page_s_order(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    lee = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    cam = make_user(db, clock, Role.CSM, email="cam@cs.test")
    big = _escalated(db, clock, cam, 4)  # $50,000
    small = _escalated(db, clock, cam, 0)  # $10,000
    child = _escalated(db, clock, cam, 9, parent=big)  # no own contract: its parent's ARR is at stake
    token = make_token(db, clock, lee)
    db.commit()
    rows = live_server.client(token).get("/api/v1/escalations").json()
    assert [(r["account_id"], r["account_name"], r["arr_cents"], r["covered_lives"]) for r in rows] == [
        (child.id, "Employer 09", 5_000_000, 1000),
        (big.id, "Employer 04", 5_000_000, 500),
        (small.id, "Employer 00", 1_000_000, 100),
    ]
    assert rows[0]["ticket_numbers"] == [1009, 2009] and rows[0]["timeline"][0]["note"] == "first note"
    page = live_server.client()
    sign_in_http(page, "lee@cs.test")
    listed = re.findall(r'<a href="/customers/\d+">([^<]+)</a>', page.get("/escalations").text)
    assert listed == [r["account_name"] for r in rows]


def test_the_statements_per_request_do_not_grow_with_the_rows(
    live_server: LiveServer, db: Session, clock: FixedClock, engine: Engine
) -> None:
    lee = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    cam = make_user(db, clock, Role.CSM, email="cam@cs.test")
    parent = _escalated(db, clock, cam, 0)
    _escalated(db, clock, cam, 1, parent=parent)
    token = make_token(db, clock, lee)
    db.commit()
    api = live_server.client(token)
    api.get("/api/v1/escalations")  # warm: the first request may load settings and caches

    def statements_for_list() -> tuple[int, int]:
        with counting(engine) as statements:
            rows = api.get("/api/v1/escalations").json()
        return len(rows), len(statements)

    few = statements_for_list()
    for n in range(2, 14):
        _escalated(db, clock, cam, n, parent=parent if n % 3 == 0 else None)
    db.commit()
    many = statements_for_list()
    assert (few[0], many[0]) == (2, 14)
    assert many[1] == few[1], f"{few[1]} statements for 2 rows, {many[1]} for 14"
