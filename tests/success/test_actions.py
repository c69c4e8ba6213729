from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.success import actions, contracts, queries, segmenting
from opsdesk.success.models import Account, ArrMovement, ContactRole, PriceModel, Stage
from tests.factories import make_user
from tests.success import scenario


def _flat(db: Session, clock: FixedClock, account: Account, start: date, end: date, cents: int, **kw: object):
    return contracts.save_subscription(
        db, account=account, start=start, end=end, price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=cents, clock=clock, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_account_gets_a_band_segment_and_a_csm_owner_and_records_its_stages(
    db: Session, clock: FixedClock
) -> None:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    account = actions.create_account(db, name="Acme", covered_lives=1200, owner=csm, region="NA", clock=clock)
    db.commit()
    assert account.segment is not None and account.segment.name == "Upper mid-market"
    actions.change_stage(db, account=account, to=Stage.LAUNCH, on=date(2026, 2, 1), clock=clock)
    actions.update_account(db, account=account, covered_lives=20_000, clock=clock)
    db.commit()
    assert account.segment.name == "Enterprise"
    assert (account.stage, account.stage_since) == (Stage.LAUNCH, date(2026, 2, 1))
    events = db.scalars(
        select(Event).where(Event.subject_type == "account", Event.subject_id == account.id)
    ).all()
    assert [e.type for e in events] == [
        "account_created",
        "account_stage_changed",
        "account_segment_changed",
        "account_updated",
    ]
    assert events[1].data == {"from": "implementation", "to": "launch", "on": "2026-02-01"}
    assert events[2].data == {"from": "Upper mid-market", "to": "Enterprise"}


def test_owner_must_be_a_csm_and_the_hierarchy_cannot_loop(db: Session, clock: FixedClock) -> None:
    agent = make_user(db, clock, Role.ANALYST)
    with pytest.raises(ValidationFailed) as err:
        actions.create_account(db, name="Acme", owner=agent, clock=clock)
    assert err.value.field == "owner"
    top = actions.create_account(db, name="Top", clock=clock)
    child = actions.create_account(db, name="Child", parent=top, clock=clock)
    with pytest.raises(ValidationFailed):
        actions.update_account(db, account=top, parent=child, clock=clock)


def test_a_custom_segment_recomputes_existing_accounts(db: Session, clock: FixedClock) -> None:
    hospital = actions.create_account(
        db, name="General", covered_lives=8000, industry="Healthcare", clock=clock
    )
    shop = actions.create_account(db, name="Shop", covered_lives=8000, industry="Retail", clock=clock)
    segmenting.create_segment(
        db, name="Strategic healthcare", priority=1, clock=clock,
        rules=[{"field": "industry", "op": "eq", "value": "healthcare"}],
    )  # fmt: skip
    db.commit()
    assert hospital.segment is not None and hospital.segment.name == "Strategic healthcare"
    assert shop.segment is not None and shop.segment.name == "Large"
    strategic = segmenting.segment_by_name(db, "Strategic healthcare")
    segmenting.update_segment(
        db, segment=strategic, clock=clock, rules=[{"field": "industry", "op": "in", "value": ["retail"]}]
    )
    db.commit()
    assert hospital.segment.name == "Large" and shop.segment.name == "Strategic healthcare"


def test_contacts_are_upserted_by_external_id(db: Session, clock: FixedClock) -> None:
    account = actions.create_account(db, name="Acme", clock=clock)
    first = actions.save_contact(
        db, account=account, name="Ana", role=ContactRole.HR_LEADER, external_id="c1", clock=clock
    )
    again = actions.save_contact(
        db, account=account, name="Ana B", role=ContactRole.EXECUTIVE, external_id="c1", clock=clock
    )
    db.commit()
    assert first.id == again.id and (again.name, again.role) == ("Ana B", ContactRole.EXECUTIVE)


def _book(db: Session, clock: FixedClock) -> dict[int, Account]:
    """The hand-computed scenario, built through the actions (regions stand for its segments)."""
    d = date
    accounts = {
        n: actions.create_account(db, name=f"C{n}", region=scenario.SEGMENT[n], clock=clock)
        for n in (1, 2, 3, 4, 5, 6, 7, 8)
    }
    for n in (71, 72):
        accounts[n] = actions.create_account(db, name=f"C{n}", parent=accounts[7], clock=clock)
    _flat(db, clock, accounts[1], d(2024, 1, 1), d(2024, 12, 31), 100_000)
    c1 = _flat(db, clock, accounts[1], d(2025, 1, 1), d(2025, 12, 31), 100_000)
    contracts.amend_subscription(
        db, subscription=c1, effective=d(2025, 7, 1), flat_annual_cents=130_000, clock=clock
    )
    _flat(db, clock, accounts[2], d(2024, 6, 1), d(2025, 5, 31), 200_000)
    _flat(db, clock, accounts[3], d(2024, 1, 1), d(2025, 12, 31), 50_000, escalator_pct=Decimal(10))
    _flat(db, clock, accounts[4], d(2025, 3, 1), d(2026, 2, 28), 40_000)
    _flat(db, clock, accounts[5], d(2024, 1, 1), d(2025, 3, 31), 80_000)
    _flat(db, clock, accounts[5], d(2025, 6, 1), d(2026, 5, 31), 60_000)
    _flat(db, clock, accounts[6], d(2023, 1, 1), d(2023, 12, 31), 30_000)
    _flat(db, clock, accounts[6], d(2025, 4, 1), d(2026, 3, 31), 35_000)
    _flat(db, clock, accounts[71], d(2024, 1, 1), d(2025, 8, 31), 70_000)
    _flat(db, clock, accounts[72], d(2025, 9, 1), d(2026, 8, 31), 70_000)
    c8 = _flat(db, clock, accounts[8], d(2024, 1, 1), d(2025, 12, 31), 60_000)
    contracts.amend_subscription(
        db, subscription=c8, effective=d(2025, 10, 1), flat_annual_cents=45_000, clock=clock
    )
    db.commit()
    return accounts


def test_retention_from_the_database_matches_the_hand_computed_book(db: Session, clock: FixedClock) -> None:
    _book(db, clock)
    report = queries.retention_report(db, *scenario.PERIOD, "region", today=clock.now().date())
    report = report.set_index("group")
    assert list(report.index) == ["A", "B", "all"]
    total = report.loc["all"]
    assert (total["start_arr"], total["new"], total["reactivation"], total["expansion"]) == (
        560_000, 40_000, 35_000, 30_000,
    )  # fmt: skip
    assert (total["escalator"], total["contraction"], total["churn"], total["end_arr"]) == (
        5_000, 35_000, 200_000, 435_000,
    )  # fmt: skip
    assert total["grr"] == pytest.approx(325 / 560) and total["nrr_12m"] == pytest.approx(360 / 560)
    assert report.loc["A", "churn"] == 200_000 and report.loc["B", "escalator"] == 5_000


def test_moving_a_child_to_its_own_hierarchy_rebuilds_both_customers(db: Session, clock: FixedClock) -> None:
    accounts = _book(db, clock)
    actions.update_account(db, account=accounts[72], parent=None, clock=clock)
    db.commit()
    kinds = {
        customer: [
            k.value
            for k in db.scalars(
                select(ArrMovement.kind)
                .where(ArrMovement.customer_id == customer)
                .order_by(ArrMovement.effective_on)
            )
        ]
        for customer in (accounts[7].id, accounts[72].id)
    }
    assert kinds == {accounts[7].id: ["new_business", "churn"], accounts[72].id: ["new_business", "churn"]}
    assert queries.arr_on(db, accounts[72].id, date(2025, 9, 1)) == 70_000


def test_bad_subscription_terms_are_refused(db: Session, clock: FixedClock) -> None:
    account = actions.create_account(db, name="Acme", clock=clock)
    with pytest.raises(ValidationFailed) as err:
        _flat(db, clock, account, date(2025, 2, 1), date(2025, 1, 1), 10)
    assert err.value.field == "end_date"
    with pytest.raises(ValidationFailed):
        _flat(db, clock, account, date(2025, 1, 1), date(2025, 12, 31), -10)
    with pytest.raises(ValidationFailed):
        contracts.save_subscription(
            db,
            account=account,
            start=date(2025, 1, 1),
            end=date(2025, 12, 31),
            price_model=PriceModel.PEPM,
            pepm_cents=500,
            clock=clock,
        )


def test_a_parent_is_segmented_on_its_familys_covered_lives(db: Session, clock: FixedClock) -> None:
    """Issue 14: a parent with no lives of its own and children of 99 and 15,000 lives got no segment."""
    parent = actions.create_account(db, name="Holding", covered_lives=0, clock=clock)
    small = actions.create_account(db, name="Shop", covered_lives=99, parent=parent, clock=clock)
    big = actions.create_account(db, name="Plant", covered_lives=15_000, parent=parent, clock=clock)
    db.commit()
    assert parent.segment is not None and parent.segment.name == "Enterprise"  # 15,099 lives
    assert small.segment is not None and small.segment.name == "Small business"
    assert big.segment is not None and big.segment.name == "Enterprise"

    other = actions.create_account(db, name="Other group", covered_lives=0, clock=clock)
    actions.update_account(db, account=big, parent=other, clock=clock)
    db.commit()
    db.expire_all()
    assert parent.segment is not None and parent.segment.name == "Small business"  # 99 lives left
    assert other.segment is not None and other.segment.name == "Enterprise"
    moves = db.scalars(
        select(Event).where(
            Event.subject_id == parent.id,
            Event.subject_type == "account",
            Event.type == "account_segment_changed",
        )
    ).all()
    assert [m.data for m in moves] == [
        {"from": None, "to": "Small business"},
        {"from": "Small business", "to": "Enterprise"},
        {"from": "Enterprise", "to": "Small business"},
    ]
