"""A won deal updates the contract and ARR in the stage move's transaction: renewals book the next term,
expansions amend the running one; once per deal; refused with the field named when there is no term."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success import queries as success_queries
from opsdesk.success.arr import arr_on, arr_steps
from opsdesk.success.models import Account, PriceModel, Subscription
from opsdesk.success.pipeline import actions
from opsdesk.success.pipeline.models import Opportunity, OpportunityKind, OpportunityStage
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def _arr(db: Session, account: Account, day: date) -> int:
    terms = success_queries.subscription_terms(db, [account.id])
    return arr_on(arr_steps(terms), day).get(account.id, 0)


def _won_events(db: Session, account: Account) -> list[dict[str, object]]:
    return [
        e.data
        for e in db.scalars(
            select(Event)
            .where(Event.subject_type == "account", Event.subject_id == account.id)
            .where(Event.type == "opportunity_won_contract_updated")
        )
    ]


def _subscriptions(db: Session, account: Account) -> int:
    return (
        db.scalar(select(func.count()).select_from(Subscription).where(Subscription.account_id == account.id))
        or 0
    )


def test_a_won_renewal_books_the_next_term_once(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="Acme", covered_lives=100, clock=clock)
    term = contracts.save_subscription(
        db,
        account=account,
        start=date(2025, 5, 1),
        end=date(2026, 4, 30),
        price_model=PriceModel.PEPM,
        pepm_cents=1_000,
        covered_lives=100,
        escalator_pct=Decimal(3),
        clock=clock,
    )
    deal = actions.create_opportunity(
        db,
        account=account,
        kind=OpportunityKind.RENEWAL,
        amount_cents=1_200_000,
        close_date=date(2026, 4, 15),
        renewal_of_id=term.id,
        clock=clock,
    )
    db.commit()
    assert _arr(db, account, date(2026, 5, 1)) == 0  # not renewed yet

    actions.move_stage(
        db, opportunity=deal, to=OpportunityStage.CLOSED_WON, amount_cents=1_320_000, clock=clock
    )
    db.commit()
    db.expire_all()
    deal = db.get_one(Opportunity, deal.id)
    booked = db.get_one(Subscription, deal.won_subscription_id)
    assert (booked.start_date, booked.end_date) == (date(2026, 5, 1), date(2027, 4, 30))
    # 1,320,000 is a whole PEPM over the same 100 lives: 11.00 a month; the escalator carries over
    assert (booked.price_model, booked.pepm_cents, booked.covered_lives) == (PriceModel.PEPM, 1_100, 100)
    assert booked.escalator_pct == Decimal(3)
    assert _arr(db, account, date(2026, 4, 30)) == 1_200_000
    assert _arr(db, account, date(2026, 5, 1)) == 1_320_000
    assert _won_events(db, account) == [
        {
            "opportunity_id": deal.id,
            "kind": "renewal",
            "subscription_id": booked.id,
            "effective": "2026-05-01",
            "amount_cents": 1_320_000,
        }
    ]

    # reopened and won again: nothing more is booked
    actions.move_stage(db, opportunity=deal, to=OpportunityStage.NEGOTIATE, clock=clock)
    actions.move_stage(db, opportunity=deal, to=OpportunityStage.CLOSED_WON, clock=clock)
    actions.move_stage(db, opportunity=deal, to=OpportunityStage.CLOSED_WON, clock=clock)
    db.commit()
    assert _subscriptions(db, account) == 2 and len(_won_events(db, account)) == 1
    assert _arr(db, account, date(2026, 5, 1)) == 1_320_000


def test_a_won_renewal_links_a_next_term_already_on_file(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="Acme", covered_lives=10, clock=clock)
    for start, end in ((date(2025, 5, 1), date(2026, 4, 30)), (date(2026, 5, 1), date(2027, 4, 30))):
        contracts.save_subscription(
            db,
            account=account,
            start=start,
            end=end,
            price_model=PriceModel.FLAT_ANNUAL,
            flat_annual_cents=500_000,
            clock=clock,
        )
    deal = actions.create_opportunity(
        db,
        account=account,
        kind=OpportunityKind.RENEWAL,
        amount_cents=500_000,
        close_date=date(2026, 4, 1),
        clock=clock,
    )
    actions.move_stage(db, opportunity=deal, to=OpportunityStage.CLOSED_WON, clock=clock)
    db.commit()
    assert _subscriptions(db, account) == 2
    assert db.get_one(Subscription, deal.won_subscription_id).start_date == date(2026, 5, 1)


def test_a_won_expansion_amends_the_running_term_from_the_win(db: Session, clock: FixedClock) -> None:
    today = clock.now().date()  # 2 March 2026
    account = success.create_account(db, name="Acme", covered_lives=10, clock=clock)
    term = contracts.save_subscription(
        db,
        account=account,
        start=date(2025, 1, 1),
        end=date(2026, 12, 31),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=1_000_000,
        escalator_pct=Decimal(10),
        clock=clock,
    )
    deal = actions.create_opportunity(
        db,
        account=account,
        kind=OpportunityKind.CROSS_SELL,
        amount_cents=150_000,
        close_date=today,
        clock=clock,
    )
    db.commit()
    assert _arr(db, account, today) == 1_100_000  # escalated once on 1 January
    actions.move_stage(
        db, opportunity=deal, to=OpportunityStage.CLOSED_WON, amount_cents=200_000, clock=clock
    )
    db.commit()
    db.expire_all()
    amendment = db.get_one(Subscription, db.get_one(Opportunity, deal.id).won_subscription_id)
    assert amendment.amends_id == term.id and amendment.start_date == today
    assert db.get_one(Subscription, term.id).end_date == today - timedelta(days=1)
    assert _arr(db, account, today - timedelta(days=1)) == 1_100_000
    assert _arr(db, account, today) == 1_300_000
    assert _arr(db, account, date(2026, 12, 31)) == 1_300_000
    assert _arr(db, account, date(2027, 1, 1)) == 0
    assert len(_won_events(db, account)) == 1


def test_a_win_with_no_term_in_force_is_refused(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="Acme", covered_lives=10, clock=clock)
    expansion = actions.create_opportunity(
        db,
        account=account,
        kind=OpportunityKind.EXPANSION,
        amount_cents=1,
        close_date=date(2026, 4, 1),
        clock=clock,
    )
    renewal = actions.create_opportunity(
        db,
        account=account,
        kind=OpportunityKind.RENEWAL,
        amount_cents=1,
        close_date=date(2026, 4, 1),
        clock=clock,
    )
    db.commit()
    with pytest.raises(ValidationFailed) as refused:
        actions.move_stage(db, opportunity=expansion, to=OpportunityStage.CLOSED_WON, clock=clock)
    assert refused.value.field == "account_id"
    db.rollback()
    with pytest.raises(ValidationFailed) as refused:
        actions.move_stage(db, opportunity=renewal, to=OpportunityStage.CLOSED_WON, clock=clock)
    assert refused.value.field == "renewal_of_id"
    db.rollback()
    assert db.get_one(Opportunity, expansion.id).stage is OpportunityStage.QUALIFY


def test_winning_over_the_api_updates_arr_or_names_the_missing_term(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    acme = success.create_account(db, name="Acme", covered_lives=10, owner=csm, clock=clock)
    bare = success.create_account(db, name="Bare", covered_lives=10, owner=csm, clock=clock)
    contracts.save_subscription(
        db,
        account=acme,
        start=date(2025, 6, 1),
        end=date(2026, 5, 31),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=2_000_000,
        clock=clock,
    )
    token = make_token(db, clock, csm)
    db.commit()
    api = live_server.client(token)

    def arr() -> int:
        return int(api.get("/api/v1/portfolio").json()[0]["arr_cents"])

    assert arr() == 2_000_000
    deals = [
        api.post(
            "/api/v1/opportunities",
            json={"account_id": a.id, "kind": "upsell", "amount_cents": 300_000, "close_date": "2026-03-31"},
        ).json()
        for a in (acme, bare)
    ]
    won = api.post(f"/api/v1/opportunities/{deals[0]['id']}/stage", json={"to": "closed_won"})
    assert won.status_code == 200, won.text
    assert won.json()["won_subscription_id"] is not None
    assert arr() == 2_300_000
    again = api.post(f"/api/v1/opportunities/{deals[0]['id']}/stage", json={"to": "closed_won"})
    assert again.status_code == 200 and arr() == 2_300_000
    refused = api.post(f"/api/v1/opportunities/{deals[1]['id']}/stage", json={"to": "closed_won"})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "account_id"
    assert "no contract term in force" in refused.json()["error"]["message"]
    assert api.get(f"/api/v1/opportunities/{deals[1]['id']}").json()["stage"] == "qualify"
