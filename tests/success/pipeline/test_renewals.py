"""Renewal generation on the real database: ahead of contract end, once per term, with the ARR in force
on the last day; opportunity actions keep their history and events."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import PriceModel
from opsdesk.success.pipeline import actions, queries, renewals
from opsdesk.success.pipeline.models import Opportunity, OpportunityKind, OpportunityStage
from tests.factories import make_user


def test_renewals_are_created_ahead_of_end_once_per_term(db: Session, clock: FixedClock) -> None:
    today = clock.now().date()  # 2 March 2026
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    soon = success.create_account(db, name="Soon Ltd", covered_lives=100, owner=csm, clock=clock)
    # two-year term with a 5 % escalator: ARR on the last day is 105,000.00
    contracts.save_subscription(
        db,
        account=soon,
        start=date(2024, 6, 1),
        end=date(2026, 5, 31),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=10_000_000,
        escalator_pct=Decimal(5),
        clock=clock,
    )
    later = success.create_account(db, name="Later Ltd", covered_lives=100, clock=clock)
    contracts.save_subscription(
        db,
        account=later,
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        price_model=PriceModel.PEPM,
        pepm_cents=500,
        covered_lives=100,
        clock=clock,
    )
    renewed = success.create_account(db, name="Renewed Ltd", covered_lives=10, clock=clock)
    for start, end in ((date(2025, 4, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2027, 3, 31))):
        contracts.save_subscription(
            db,
            account=renewed,
            start=start,
            end=end,
            price_model=PriceModel.FLAT_ANNUAL,
            flat_annual_cents=1_000_000,
            clock=clock,
        )
    db.commit()

    first = renewals.generate_renewals(db, today=today, lead_days=120, clock=clock)
    db.commit()
    assert [o.account_id for o in first.created] == [soon.id]
    assert first.skipped_renewed == 1
    opportunity = first.created[0]
    assert opportunity.kind is OpportunityKind.RENEWAL and opportunity.stage is OpportunityStage.QUALIFY
    assert opportunity.amount_cents == 10_500_000
    assert opportunity.close_date == date(2026, 5, 31) and opportunity.owner_id == csm.id

    again = renewals.generate_renewals(db, today=today, lead_days=120, clock=clock)
    db.commit()
    assert again.created == [] and again.already_open == 1
    assert db.scalar(select(func.count()).select_from(Opportunity)) == 1

    wider = renewals.generate_renewals(db, today=today, lead_days=365, clock=clock)
    db.commit()
    assert [o.account_id for o in wider.created] == [later.id]
    assert wider.created[0].amount_cents == 500 * 100 * 12
    assert db.scalar(select(func.count()).select_from(Opportunity)) == 2
    created_events = db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "opportunity_created")
    )
    assert created_events == 2
    with pytest.raises(ValidationFailed):
        renewals.generate_renewals(db, today=today, lead_days=-1, clock=clock)


def test_stage_moves_record_history_and_events(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="Acme", covered_lives=10, clock=clock)
    # a won upsell amends the running term, so the account needs one
    contracts.save_subscription(
        db,
        account=account,
        start=date(2025, 7, 1),
        end=date(2026, 6, 30),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=1_000_000,
        clock=clock,
    )
    deal = actions.create_opportunity(
        db,
        account=account,
        kind=OpportunityKind.UPSELL,
        amount_cents=250_000,
        close_date=date(2026, 4, 30),
        clock=clock,
    )
    clock.advance(timedelta(days=3))
    actions.update_opportunity(db, opportunity=deal, probability_pct=70, clock=clock)
    actions.move_stage(db, opportunity=deal, to=OpportunityStage.PROPOSE, clock=clock)
    actions.move_stage(db, opportunity=deal, to=OpportunityStage.PROPOSE, clock=clock)  # no change
    clock.advance(timedelta(days=5))
    actions.move_stage(
        db, opportunity=deal, to=OpportunityStage.CLOSED_WON, amount_cents=300_000, clock=clock
    )
    db.commit()
    assert deal.closed_on == date(2026, 3, 10) and deal.amount_cents == 300_000
    history = queries.history_frame(db)
    assert history["stage"].tolist() == ["qualify", "qualify", "propose", "closed_won"]
    assert [None if pd.isna(v) else int(v) for v in history["probability_pct"]] == [None, 70, 70, 70]
    types = db.scalars(
        select(Event.type)
        .where(Event.subject_type == "opportunity", Event.subject_id == deal.id)
        .order_by(Event.id)
    ).all()
    assert types == [
        "opportunity_created",
        "opportunity_updated",
        "opportunity_stage_changed",
        "opportunity_stage_changed",
    ]
    table = queries.probability_table(db)
    # one new-ARR deal won from qualify and propose: (1 + 10 * .1) / 11 and (1 + 10 * .4) / 11
    assert table.probability("upsell", "qualify") == pytest.approx(2 / 11)
    assert table.probability("upsell", "propose") == pytest.approx(5 / 11)
    with pytest.raises(ValidationFailed):
        actions.update_opportunity(db, opportunity=deal, probability_pct=101, clock=clock)


def test_concurrent_runs_make_one_opportunity_per_term(
    engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    """Two generations racing on PostgreSQL: the unique key and the savepoint leave one per term.
    (SQLite serialises writers at the file, so the race cannot happen there.)"""
    if engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent writers")
    with session_factory() as setup:
        for n in range(20):
            account = success.create_account(setup, name=f"Employer {n}", covered_lives=10, clock=clock)
            contracts.save_subscription(
                setup,
                account=account,
                start=date(2025, 4, 1),
                end=date(2026, 3, 31),
                price_model=PriceModel.FLAT_ANNUAL,
                flat_annual_cents=100_000,
                clock=clock,
            )
        setup.commit()
    barrier = threading.Barrier(2)
    created: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with session_factory() as session:
                barrier.wait()
                run = renewals.generate_renewals(session, today=clock.now().date(), clock=clock)
                session.commit()
                created.append(len(run.created))
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(created) == 20
    with session_factory() as check:
        assert check.scalar(select(func.count()).select_from(Opportunity)) == 20
