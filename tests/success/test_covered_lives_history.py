"""Covered lives month by month (issue 14: "utilisation per covered life uses the lives of that month"):
an employer that doubles its lives mid-year keeps the engagement rates its earlier months had; the lives
are recorded whenever they change, through the actions, the API, the pages or a CSV import."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.models import Role
from opsdesk.success import actions
from opsdesk.success.health import queries as health_queries
from opsdesk.success.imports import import_csv
from opsdesk.success.models import Account, CoveredLivesMonth
from opsdesk.success.utilisation import lives_of_each_month, with_rates
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def _engaged(db: Session, account_id: int, engaged: dict[date, int]) -> None:
    account = db.get_one(Account, account_id)
    for month, members in engaged.items():
        actions.record_utilisation(
            db, account=account, month=month, engaged_members=members, sessions=members,
            programme_uptake_pct=Decimal(10),
        )  # fmt: skip


def test_lives_doubled_mid_year_leave_earlier_months_rates_unchanged(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 1, 10, 9, tzinfo=UTC))
    csm = make_user(db, clock, Role.CSM, email="cam@cs.test")
    account = actions.create_account(db, name="Acme", covered_lives=1000, owner=csm, clock=clock)
    account_id = account.id
    _engaged(db, account_id, {date(2026, m, 1): 500 for m in range(1, 7)})
    db.commit()

    clock.set(datetime(2026, 7, 3, 9, tzinfo=UTC))
    token = make_token(db, clock, csm)
    db.commit()
    with live_server.client(token) as api:
        doubled = api.patch(f"/api/v1/accounts/{account_id}", json={"covered_lives": 2000})
        assert doubled.status_code == 200, doubled.text
    _engaged(db, account_id, {date(2026, m, 1): 1000 for m in range(7, 12)})
    db.commit()

    db.expire_all()
    rates = with_rates(health_queries.utilisation_frame(db, [account_id]))
    by_month = dict(zip(pd.to_datetime(rates["month"]).dt.month, rates["engaged_rate_pct"], strict=True))
    assert by_month == {m: 50.0 for m in range(1, 12)}  # today's 2,000 lives made January 25 %
    usage, _trend = health_queries.account_utilisation(
        db, db.get_one(Account, account_id), as_of=date(2026, 12, 5), months=12
    )
    assert list(usage["engaged_rate_pct"]) == [50.0] * 11
    history = db.execute(
        select(CoveredLivesMonth.month, CoveredLivesMonth.covered_lives)
        .where(CoveredLivesMonth.account_id == account_id)
        .order_by(CoveredLivesMonth.month)
    ).all()
    assert [tuple(row) for row in history] == [(date(2026, 1, 1), 1000), (date(2026, 7, 1), 2000)]


def test_the_lives_of_a_month_come_from_the_latest_change_in_or_before_it() -> None:
    frame = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2],
            "month": [date(2025, 11, 1), date(2026, 2, 1), date(2026, 5, 1), date(2026, 2, 1)],
            "engaged_members": [10, 10, 10, 10],
            "sessions": [1, 1, 1, 1],
            "programme_uptake_pct": [1.0, 1.0, 1.0, 1.0],
            "covered_lives": [900, 900, 900, 70],  # today's
        }
    )
    history = pd.DataFrame(
        {"account_id": [1, 1], "month": [date(2026, 1, 1), date(2026, 4, 1)], "covered_lives": [300, 900]}
    )
    lives = lives_of_each_month(frame, history)
    # Before the first record: the first recorded value; no history at all: the account's own lives.
    assert list(lives["covered_lives"]) == [300, 300, 900, 70]
    assert list(lives["month"]) == list(frame["month"])


def test_a_csv_import_that_changes_lives_records_the_month(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    header = "Account ID,Account Name,Covered Lives\n"
    with transaction(session_factory) as s:
        import_csv(s, "accounts", header + "ACC-1,Acme,400\n", clock=clock)
    clock.set(datetime(2026, 9, 15, 9, tzinfo=UTC))
    with transaction(session_factory) as s:
        import_csv(s, "accounts", header + "ACC-1,Acme,650\n", clock=clock)
    with session_factory() as s:
        rows = s.execute(
            select(CoveredLivesMonth.month, CoveredLivesMonth.covered_lives).order_by(CoveredLivesMonth.month)
        ).all()
    assert [tuple(r) for r in rows] == [(date(2026, 3, 1), 400), (date(2026, 9, 1), 650)]


def test_an_amendment_of_covered_lives_records_the_month_and_today_s_lives_when_in_force(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    """A contract amendment that changes the covered lives is a change of the account's lives: the
    history holds the lives from the amendment's month on, and the account's current lives follow when
    the amendment is in force today (a future one only records its month)."""
    from opsdesk.core.models import Event
    from opsdesk.success import contracts
    from opsdesk.success.models import PriceModel, Subscription

    clock.set(datetime(2026, 1, 10, 9, tzinfo=UTC))
    with transaction(session_factory) as s:
        account = actions.create_account(s, name="Acme", covered_lives=1000, clock=clock)
        term = contracts.save_subscription(
            s, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31),
            price_model=PriceModel.PEPM, pepm_cents=500, covered_lives=1000, clock=clock,
        )  # fmt: skip
        account_id, term_id = account.id, term.id
    clock.set(datetime(2026, 5, 12, 9, tzinfo=UTC))
    with transaction(session_factory) as s:  # backdated to April: in force today
        running = contracts.amend_subscription(
            s, subscription=s.get_one(Subscription, term_id), effective=date(2026, 4, 1),
            covered_lives=1500, clock=clock,
        )  # fmt: skip
        running_id = running.id
    with transaction(session_factory) as s:  # from September: not in force yet
        later = contracts.amend_subscription(
            s, subscription=s.get_one(Subscription, running_id), effective=date(2026, 9, 1),
            covered_lives=1800, clock=clock,
        )  # fmt: skip
        later_id = later.id
    with transaction(session_factory) as s:  # a price-only amendment leaves the lives alone
        contracts.amend_subscription(
            s, subscription=s.get_one(Subscription, later_id), effective=date(2026, 11, 1), pepm_cents=450,
            clock=clock,
        )  # fmt: skip
    with session_factory() as s:
        assert s.get_one(Account, account_id).covered_lives == 1500
        rows = s.execute(
            select(CoveredLivesMonth.month, CoveredLivesMonth.covered_lives)
            .where(CoveredLivesMonth.account_id == account_id)
            .order_by(CoveredLivesMonth.month)
        ).all()
        assert [tuple(r) for r in rows] == [
            (date(2026, 1, 1), 1000), (date(2026, 4, 1), 1500), (date(2026, 9, 1), 1800)
        ]  # fmt: skip
        updates = s.scalars(
            select(Event.data).where(
                Event.subject_id == account_id,
                Event.subject_type == "account",
                Event.type == "account_updated",
            )
        ).all()
        assert [u["covered_lives"] for u in updates] == [1500]
