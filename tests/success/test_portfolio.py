"""Books of business, capacity and rebalancing (pure, by hand) and the book read from the database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from opsdesk.success import contracts, portfolio
from opsdesk.success.models import PriceModel
from opsdesk.success.playbooks.models import Task, TaskStatus
from opsdesk.success.portfolio import Capacity
from tests.factories import make_user

CAPACITY = {"Small": Capacity(4, 1_000_000), "Large": Capacity(2, 10_000_000)}


def accounts(rows: list[tuple[int, int | None, str, str | None, str, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["account_id", "csm_id", "segment", "region", "stage", "arr_cents"]
    ).astype({"region": "object"})
    frame["covered_lives"] = 100
    frame["health_band"] = ["green", None, "red", "amber", "green", None, None, None][: len(frame)]
    return frame


CSMS = pd.DataFrame({"csm_id": [1, 2, 3], "csm": ["ann@x", "bob@x", "cat@x"]})


def test_books_count_arr_health_and_load() -> None:
    frame = accounts(
        [
            (10, 1, "Small", "EMEA", "adoption", 100_000),
            (11, 1, "Small", "EMEA", "adoption", 200_000),
            (12, 1, "Large", "EMEA", "renewal", 5_000_000),
            (13, 2, "Small", "AMER", "adoption", 300_000),
            (14, None, "Small", "AMER", "adoption", 1),
        ]
    )
    out = portfolio.books(frame, CSMS, CAPACITY).set_index("csm")
    ann = out.loc["ann@x"]
    assert (ann["accounts"], ann["arr_cents"], ann["covered_lives"]) == (3, 5_300_000, 300)
    assert (ann["green"], ann["amber"], ann["red"], ann["unknown"]) == (1, 0, 1, 1)
    # accounts: 2/4 + 1/2 = 1.0; ARR: .1 + .2 + .5 = .8
    assert ann["account_load"] == pytest.approx(1.0) and ann["arr_load"] == pytest.approx(0.8)
    assert ann["load"] == pytest.approx(1.0)
    assert out.loc["cat@x", "accounts"] == 0 and out.loc["cat@x", "load"] == 0


def test_rebalance_moves_the_fewest_small_accounts_to_fitting_csms() -> None:
    frame = accounts(
        [
            # ann carries six small EMEA accounts (load 1.5); one is renewing
            (1, 1, "Small", "EMEA", "renewal", 10_000),
            (2, 1, "Small", "EMEA", "adoption", 50_000),
            (3, 1, "Small", "EMEA", "adoption", 20_000),
            (4, 1, "Small", "EMEA", "adoption", 30_000),
            (5, 1, "Small", "EMEA", "adoption", 40_000),
            (6, 1, "Small", "EMEA", "adoption", 60_000),
            # bob: one small AMER account; cat: one small EMEA account
            (7, 2, "Small", "AMER", "adoption", 10_000),
            (8, 3, "Small", "EMEA", "adoption", 10_000),
        ]
    )
    moves = portfolio.rebalance(frame, CSMS, CAPACITY)
    # two moves bring ann to 4/4; the smallest non-renewing accounts go, to cat (same region) first
    assert [(m.account_id, m.from_csm_id, m.to_csm_id) for m in moves] == [(3, 1, 3), (4, 1, 3)]
    assert all(m.fits_region and m.fits_segment for m in moves)
    after = frame.copy()
    for m in moves:
        after.loc[after["account_id"] == m.account_id, "csm_id"] = m.to_csm_id
    assert portfolio.books(after, CSMS, CAPACITY)["load"].max() <= 1.0


def test_rebalance_never_overloads_a_receiver() -> None:
    frame = accounts([(n, 1, "Large", "EMEA", "adoption", 1_000) for n in range(1, 5)])
    two = pd.DataFrame({"csm_id": [1, 2], "csm": ["ann@x", "bob@x"]})
    moves = portfolio.rebalance(frame, two, CAPACITY)
    assert len(moves) == 2  # bob can take two large accounts; ann stays over with nobody to help
    assert {m.to_csm_id for m in moves} == {2}


def test_portfolio_and_productivity_from_the_database(db: Session, clock: FixedClock) -> None:
    ann = make_user(db, clock, Role.CSM, email="ann@example.com")
    make_user(db, clock, Role.CSM, email="bob@example.com")
    kept = success.create_account(db, name="Kept", covered_lives=500, owner=ann, region="EMEA", clock=clock)
    lost = success.create_account(db, name="Lost", covered_lives=50, owner=ann, region="EMEA", clock=clock)
    for account, end in ((kept, date(2026, 12, 31)), (lost, date(2026, 1, 31))):
        contracts.save_subscription(
            db,
            account=account,
            start=date(2025, 2, 1),
            end=end,
            price_model=PriceModel.FLAT_ANNUAL,
            flat_annual_cents=1_000_000,
            clock=clock,
        )
    db.commit()
    book = portfolio.portfolio(db, date(2026, 3, 1)).set_index("csm")
    assert book.loc["ann@example.com", "accounts"] == 2
    assert book.loc["ann@example.com", "arr_cents"] == 1_000_000  # the lost account has no ARR left
    assert book.loc["ann@example.com", "covered_lives"] == 550
    assert book.loc["bob@example.com", "accounts"] == 0
    kpis = portfolio.productivity(db, date(2026, 1, 1), date(2026, 2, 28)).set_index("csm")
    # Lost's term ended 31 Jan: one of the book's two customers churned half of the starting ARR
    assert kpis.loc["ann@example.com", "nrr"] == pytest.approx(0.5)
    assert kpis.loc["ann@example.com", "renewal_rate"] == pytest.approx(0.0)
    assert kpis.loc["bob@example.com", "nrr"] is None or pd.isna(kpis.loc["bob@example.com", "nrr"])


def test_tasks_on_time_share(db: Session, clock: FixedClock) -> None:
    ann = make_user(db, clock, Role.CSM, email="ann@example.com")
    make_user(db, clock, Role.CSM, email="bob@example.com")
    one = success.create_account(db, name="One", covered_lives=10, owner=ann, clock=clock)
    two = success.create_account(db, name="Two", covered_lives=10, owner=ann, clock=clock)

    def task(account_id: int, due: date, status: TaskStatus, done: date | None) -> None:
        db.add(
            Task(
                account_id=account_id,
                title="call",
                status=status,
                due_on=due,
                created_at=clock.now(),
                updated_at=clock.now(),
                completed_at=datetime(done.year, done.month, done.day, 15, tzinfo=UTC) if done else None,
            )
        )

    task(one.id, date(2026, 2, 10), TaskStatus.DONE, date(2026, 2, 9))  # on time
    task(one.id, date(2026, 2, 12), TaskStatus.DONE, date(2026, 2, 20))  # late
    task(two.id, date(2026, 2, 15), TaskStatus.OPEN, None)  # overdue
    task(two.id, date(2026, 2, 16), TaskStatus.SKIPPED, None)  # not counted
    task(two.id, date(2026, 3, 3), TaskStatus.DONE, date(2026, 3, 1))  # after the period
    db.commit()
    kpis = portfolio.productivity(db, date(2026, 1, 1), date(2026, 2, 28)).set_index("csm")
    assert kpis.loc["ann@example.com", "tasks_on_time"] == pytest.approx(1 / 3)
    assert pd.isna(kpis.loc["bob@example.com", "touches_per_account"])  # no book: unknown, not zero


def test_churned_and_lapsed_accounts_cost_no_capacity_and_are_never_moved() -> None:
    """Issue 14: 25 of 48 suggested moves were churned $0 accounts."""
    frame = accounts(
        [
            (1, 1, "Large", "EMEA", "churned", 0),
            (2, 1, "Large", "EMEA", "adoption", 0),  # its contract lapsed: not a customer today
            (3, 1, "Large", "EMEA", "implementation", 0),  # signed, not live yet: a customer
            (4, 1, "Large", "EMEA", "adoption", 5_000),
            (5, 1, "Large", "EMEA", "adoption", 6_000),
        ]
    )
    two = pd.DataFrame({"csm_id": [1, 2], "csm": ["ann@x", "bob@x"]})
    ann = portfolio.books(frame, two, CAPACITY).set_index("csm").loc["ann@x"]
    assert ann["accounts"] == 3 and ann["account_load"] == pytest.approx(1.5)
    moves = portfolio.rebalance(frame, two, CAPACITY)
    assert [m.account_id for m in moves] == [3]  # the smallest active one, never 1 or 2


def test_when_every_csm_is_over_capacity_the_excess_is_shared_evenly() -> None:
    """Issue 14: every CSM at 283-347% load, yet "no moves needed"."""
    frame = accounts(
        [(n, 1, "Large", "EMEA", "adoption", 1_000 * n) for n in range(1, 6)]  # ann 5/2 = 250%
        + [(n, 2, "Large", "EMEA", "adoption", 1_000 * n) for n in range(6, 9)]  # bob 3/2 = 150%
    )
    two = pd.DataFrame({"csm_id": [1, 2], "csm": ["ann@x", "bob@x"]})
    moves = portfolio.rebalance(frame, two, CAPACITY)
    assert [(m.account_id, m.from_csm_id, m.to_csm_id) for m in moves] == [(1, 1, 2)]  # the smallest
    after = frame.copy()
    after.loc[after["account_id"] == 1, "csm_id"] = 2
    assert list(portfolio.books(after, two, CAPACITY)["load"]) == [2.0, 2.0]
