"""What a won deal does to the contract: a won renewal books the next term, a won expansion, upsell or
cross-sell amends the running term so ARR rises by the deal's amount from the day it was won. Runs in
the stage move's transaction, once per deal (the term it made is remembered on the deal)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.success import contracts
from opsdesk.success import queries as success_queries
from opsdesk.success.arr import Term, anniversary, term_steps
from opsdesk.success.models import Account, PriceModel, Subscription
from opsdesk.success.pipeline.models import Opportunity, OpportunityKind


def term_in_force(session: Session, account_id: int, day: date) -> Subscription | None:
    """Read afresh (not the account's loaded ``subscriptions``): an amendment earlier in this transaction
    is added by ``account_id`` and would be missing from a collection loaded before it."""
    terms = session.scalars(select(Subscription).where(Subscription.account_id == account_id))
    return contracts.running_term(terms, day)


def _term(session: Session, sub: Subscription) -> Term:
    """The pricing term of this subscription (its anniversary base is the original start of an amended
    term)."""
    return next(
        t
        for t in success_queries.subscription_terms(session, [sub.account_id])
        if t.subscription_id == sub.id
    )


def _arr_on(session: Session, sub: Subscription, day: date) -> int:
    """ARR of this one term on ``day``, escalators included."""
    return sum(delta for _a, _s, when, delta, _c in term_steps(_term(session, sub)) if when <= day)


def _price(sub: Subscription, annual_cents: int) -> dict[str, object]:
    """Keep a PEPM price when the new ARR is a whole PEPM over the same lives, else a flat annual fee."""
    lives = sub.covered_lives or 0
    if sub.price_model is PriceModel.PEPM and lives and annual_cents % (lives * 12) == 0:
        return {
            "price_model": PriceModel.PEPM,
            "pepm_cents": annual_cents // (lives * 12),
            "covered_lives": lives,
        }
    return {"price_model": PriceModel.FLAT_ANNUAL, "flat_annual_cents": annual_cents}


def _renew(
    session: Session, opportunity: Opportunity, won_on: date, amount: int, clock: Clock, actor: User | None
) -> Subscription:
    current = opportunity.renewal_of or term_in_force(session, opportunity.account_id, won_on)
    if current is None:
        raise ValidationFailed(
            f"account {opportunity.account_id} has no contract term in force on {won_on.isoformat()} "
            "to renew; add the contract first or link the renewal to its term",
            field="renewal_of_id",
        )
    while (
        amendment := session.scalars(select(Subscription).where(Subscription.amends_id == current.id)).first()
    ) is not None:
        current = amendment  # the term was amended after the renewal was opened: renew the amended term
    start = current.end_date + timedelta(days=1)
    booked = session.scalars(
        select(Subscription).where(
            Subscription.account_id == current.account_id, Subscription.start_date == start
        )
    ).first()
    if booked is not None:  # the next term is already on file (e.g. imported): link it, book nothing twice
        return booked
    term = _term(session, current)
    years = max(1, round((current.end_date - (term.anniversary_base or term.start)).days / 365.25))
    price = _price(current, amount)
    return contracts.save_subscription(
        session,
        account=session.get_one(Account, current.account_id),
        start=start,
        end=anniversary(start, years) - timedelta(days=1),
        clock=clock,
        escalator_pct=Decimal(current.escalator_pct or 0),
        actor=actor,
        **price,  # type: ignore[arg-type]
    )


def _expand(
    session: Session, opportunity: Opportunity, won_on: date, amount: int, clock: Clock, actor: User | None
) -> Subscription:
    running = term_in_force(session, opportunity.account_id, won_on)
    if running is None:
        raise ValidationFailed(
            f"account {opportunity.account_id} has no contract term in force on {won_on.isoformat()}: "
            f"a won {opportunity.kind.value.replace('_', '-')} amends the running term",
            field="account_id",
        )
    price = _price(running, _arr_on(session, running, won_on) + amount)
    if running.start_date == won_on:  # won on the term's first day: the whole term carries the new price
        return _reprice(session, running, price, clock)
    return contracts.amend_subscription(
        session,
        subscription=running,
        effective=won_on,
        clock=clock,
        actor=actor,
        **price,  # type: ignore[arg-type]
    )


def _reprice(session: Session, sub: Subscription, price: dict[str, object], clock: Clock) -> Subscription:
    sub.price_model = price["price_model"]  # type: ignore[assignment]
    sub.pepm_cents = price.get("pepm_cents")  # type: ignore[assignment]
    sub.covered_lives = price.get("covered_lives")  # type: ignore[assignment]
    sub.flat_annual_cents = price.get("flat_annual_cents")  # type: ignore[assignment]
    contracts.terms_changed(session, sub.account_id, clock=clock)
    return sub


def book_win(
    session: Session,
    *,
    opportunity: Opportunity,
    won_on: date,
    amount_cents: int,
    clock: Clock,
    actor: User | None = None,
) -> Subscription | None:
    """Update the contract for a deal being won; a deal that already updated it changes nothing more.
    Refused (field named) when there is no term to renew or amend."""
    if opportunity.won_subscription_id is not None:
        return None
    if opportunity.kind is OpportunityKind.RENEWAL:
        sub = _renew(session, opportunity, won_on, amount_cents, clock, actor)
        effective = sub.start_date
    else:
        sub = _expand(session, opportunity, won_on, amount_cents, clock, actor)
        effective = won_on
    opportunity.won_subscription_id = sub.id
    session.flush()
    data: dict[str, object] = {
        "opportunity_id": opportunity.id,
        "kind": opportunity.kind.value,
        "subscription_id": sub.id,
        "effective": effective.isoformat(),
        "amount_cents": amount_cents,
    }
    append_event(
        session,
        subject_type="account",
        subject_id=opportunity.account_id,
        type="opportunity_won_contract_updated",
        at=clock.now(),
        actor=actor,
        data=data,
    )
    return sub
