"""Contract writes: subscriptions (terms, prices, escalators), mid-term amendments, and the ARR movements
derived from them, rebuilt for the affected top-level customers whenever a subscription or the account
hierarchy changes. Runs in the caller's transaction (flush, never commit) and appends its events there."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.success import published, queries
from opsdesk.success.arr import annual_value_cents, arr_steps
from opsdesk.success.covered_lives import record_covered_lives
from opsdesk.success.models import (
    Account,
    ArrMovement,
    CoveredLivesMonth,
    MovementKind,
    PriceModel,
    Subscription,
)
from opsdesk.success.segmenting import resegment


def _validate_terms(
    *,
    start: date,
    end: date,
    price_model: PriceModel,
    pepm_cents: int | None,
    covered_lives: int | None,
    flat_annual_cents: int | None,
    escalator_pct: Decimal,
) -> None:
    if end < start:
        raise ValidationFailed("a subscription cannot end before it starts", field="end_date")
    for field, value in (
        ("pepm_cents", pepm_cents),
        ("covered_lives", covered_lives),
        ("flat_annual_cents", flat_annual_cents),
    ):
        if value is not None and value < 0:
            raise ValidationFailed(f"{field} cannot be negative", field=field)
    if escalator_pct < 0 or escalator_pct > 100:
        raise ValidationFailed("the escalator must be between 0 and 100 %", field="escalator_pct")
    annual_value_cents(
        price_model=price_model.value,
        pepm_cents=pepm_cents,
        covered_lives=covered_lives,
        flat_annual_cents=flat_annual_cents,
    )


def running_term(terms: Iterable[Subscription], day: date) -> Subscription | None:
    """The term in force on ``day`` (the latest started, if terms overlap)."""
    running = [t for t in terms if t.start_date <= day <= t.end_date]
    return max(running, key=lambda t: (t.start_date, t.id)) if running else None


def save_subscription(
    session: Session,
    *,
    account: Account,
    start: date,
    end: date,
    price_model: PriceModel,
    clock: Clock,
    pepm_cents: int | None = None,
    covered_lives: int | None = None,
    flat_annual_cents: int | None = None,
    escalator_pct: Decimal = Decimal(0),
    external_id: str | None = None,
    actor: User | None = None,
    rebuild: bool = True,
) -> Subscription:
    """Add a subscription, or update the one with this external id, and rebuild the customer's movements
    (a bulk caller may pass ``rebuild=False`` and call ``rebuild_movements`` once at the end)."""
    _validate_terms(
        start=start,
        end=end,
        price_model=price_model,
        pepm_cents=pepm_cents,
        covered_lives=covered_lives,
        flat_annual_cents=flat_annual_cents,
        escalator_pct=escalator_pct,
    )
    sub = (
        session.scalar(select(Subscription).where(Subscription.external_id == external_id))
        if external_id
        else None
    )
    roots = queries.ultimate_parents(session)
    affected = set()
    if sub is None:
        sub = Subscription(external_id=external_id or None, created_at=clock.now())
        session.add(sub)
        event = "subscription_created"
    else:
        affected.add(roots.get(sub.account_id, sub.account_id))
        event = "subscription_updated"
    sub.account = account
    sub.start_date, sub.end_date, sub.price_model = start, end, price_model
    sub.pepm_cents = pepm_cents if price_model is PriceModel.PEPM else None
    sub.covered_lives = covered_lives if price_model is PriceModel.PEPM else None
    sub.flat_annual_cents = flat_annual_cents if price_model is PriceModel.FLAT_ANNUAL else None
    sub.escalator_pct = escalator_pct
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type=event,
        at=clock.now(),
        actor=actor,
        data={"subscription_id": sub.id, "start": start.isoformat(), "end": end.isoformat()},
    )
    affected.add(roots.get(account.id, account.id))
    if rebuild:
        rebuild_movements(session, affected)
    session.flush()
    published.publish_arr_band(session, account, clock=clock)
    return sub


def amend_subscription(
    session: Session,
    *,
    subscription: Subscription,
    effective: date,
    clock: Clock,
    pepm_cents: int | None = None,
    covered_lives: int | None = None,
    flat_annual_cents: int | None = None,
    price_model: PriceModel | None = None,
    actor: User | None = None,
) -> Subscription:
    """A mid-term price or covered-lives change: the term ends the day before ``effective`` and a new one
    carries on to the original end with the new price (its escalators keep the original anniversaries).
    ``price_model`` switches the rest of the term to another model (e.g. PEPM to flat annual)."""
    model = price_model or subscription.price_model
    same_model = model is subscription.price_model
    given = {
        "pepm_cents": pepm_cents, "covered_lives": covered_lives, "flat_annual_cents": flat_annual_cents
    }  # fmt: skip
    if same_model and all(value is None for value in given.values()):
        raise ValidationFailed("an amendment changes the price or the covered lives", field="pepm_cents")
    priced = ("pepm_cents", "covered_lives") if model is PriceModel.PEPM else ("flat_annual_cents",)
    for field, value in given.items():
        if value is not None and field not in priced:
            raise ValidationFailed(f"a {model.value} term has no {field.replace('_', ' ')}", field=field)
    if not subscription.start_date < effective <= subscription.end_date:
        raise ValidationFailed(
            "an amendment must take effect inside the term, after its first day", field="effective"
        )
    new = Subscription(
        account_id=subscription.account_id,
        start_date=effective,
        end_date=subscription.end_date,
        price_model=model,
        pepm_cents=pepm_cents if pepm_cents is not None or not same_model else subscription.pepm_cents,
        covered_lives=covered_lives
        if covered_lives is not None or not same_model
        else subscription.covered_lives,
        flat_annual_cents=flat_annual_cents
        if flat_annual_cents is not None or not same_model
        else subscription.flat_annual_cents,
        escalator_pct=subscription.escalator_pct,
        amends_id=subscription.id,
        created_at=clock.now(),
    )
    _validate_terms(
        start=new.start_date,
        end=new.end_date,
        price_model=new.price_model,
        pepm_cents=new.pepm_cents,
        covered_lives=new.covered_lives,
        flat_annual_cents=new.flat_annual_cents,
        escalator_pct=Decimal(new.escalator_pct),
    )
    subscription.end_date = effective - timedelta(days=1)
    session.add(new)
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=subscription.account_id,
        type="subscription_amended",
        at=clock.now(),
        actor=actor,
        data={"subscription_id": subscription.id, "amendment_id": new.id, "effective": effective.isoformat()},
    )
    lives_changed = covered_lives is not None and covered_lives != subscription.covered_lives
    if new.price_model is PriceModel.PEPM and lives_changed:
        _amended_lives(session, new, clock=clock, actor=actor)
    terms_changed(session, subscription.account_id, clock=clock)
    return new


def terms_changed(session: Session, account_id: int, *, clock: Clock) -> None:
    """After a term of the account changed in place: its customer's (ultimate parent's) ARR movements
    rebuilt, and its ARR band published."""
    root = queries.ultimate_parents(session).get(account_id, account_id)
    rebuild_movements(session, {root})
    session.flush()
    published.publish_arr_band(session, session.get_one(Account, account_id), clock=clock)


def _amended_lives(session: Session, term: Subscription, *, clock: Clock, actor: User | None) -> None:
    """A term whose covered lives changed is a change of the account's lives: the history holds them from
    the amendment's month on. When the term is in force today, the account's current lives follow (and
    re-segment it and its parents); if a later month already had its own record, today's month records
    the contract's lives too, so the latest record is the lives in force. A future amendment only records
    its month: the account keeps today's lives until then."""
    lives, today = int(term.covered_lives or 0), clock.now().date()
    record_covered_lives(session, account_id=term.account_id, on=term.start_date, lives=lives)
    if not term.start_date <= today <= term.end_date:
        return
    since = term.start_date.replace(day=1)
    this_month = today.replace(day=1)
    later = session.scalar(
        select(func.count())
        .select_from(CoveredLivesMonth)
        .where(
            CoveredLivesMonth.account_id == term.account_id,
            CoveredLivesMonth.month > since,
            CoveredLivesMonth.month <= this_month,
        )
    )
    if later:
        record_covered_lives(session, account_id=term.account_id, on=today, lives=lives)
    _follow_term(session, session.get_one(Account, term.account_id), term, clock=clock, actor=actor)


def _follow_term(
    session: Session, account: Account, term: Subscription, *, clock: Clock, actor: User | None
) -> bool:
    """The account's current lives become the term's (re-segmenting it and its parents); False when they
    already were."""
    lives = int(term.covered_lives or 0)
    if account.covered_lives == lives:
        return False
    account.covered_lives, account.updated_at = lives, clock.now()
    resegment(session, [account], clock=clock)
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="account_updated",
        at=clock.now(),
        actor=actor,
        data={"covered_lives": lives, "amendment_id": term.id, "effective": term.start_date.isoformat()},
    )
    return True


def apply_due_amendments(session: Session, *, as_of: date, clock: Clock) -> list[int]:
    """Amendments of covered lives whose effective day has come by ``as_of`` become the account's current
    lives (an amendment dated in the future only recorded its month). One is due when its month is the
    latest record of the account's lives up to ``as_of``'s month, with its lives, and the account does not
    have them yet: a later change (an edit, another amendment) wins over it. Idempotent. Returns the ids
    of the accounts it changed."""
    this_month = as_of.replace(day=1)
    latest = (
        select(CoveredLivesMonth.account_id, func.max(CoveredLivesMonth.month).label("month"))
        .where(CoveredLivesMonth.month <= this_month)
        .group_by(CoveredLivesMonth.account_id)
        .subquery()
    )
    behind = session.execute(
        select(Account, CoveredLivesMonth.month, CoveredLivesMonth.covered_lives)
        .join(latest, latest.c.account_id == Account.id)
        .join(
            CoveredLivesMonth,
            (CoveredLivesMonth.account_id == latest.c.account_id)
            & (CoveredLivesMonth.month == latest.c.month),
        )
        .where(CoveredLivesMonth.covered_lives != Account.covered_lives)
        .order_by(Account.id)
    ).all()
    if not behind:
        return []
    terms = session.scalars(
        select(Subscription)
        .where(
            Subscription.account_id.in_([account.id for account, _, _ in behind]),
            Subscription.amends_id.is_not(None),
            Subscription.price_model == PriceModel.PEPM,
            Subscription.start_date <= as_of,
        )
        .order_by(Subscription.start_date)
    ).all()
    first_with: dict[
        tuple[int, date, int | None], Subscription
    ] = {}  # (account, month, lives) -> the amendment that took the lives from that month
    for term in terms:
        first_with.setdefault((term.account_id, term.start_date.replace(day=1), term.covered_lives), term)
    changed = []
    for account, month, lives in behind:
        amendment = first_with.get((account.id, month, lives))
        if amendment is not None and _follow_term(session, account, amendment, clock=clock, actor=None):
            changed.append(account.id)
    return changed


def rebuild_movements(session: Session, customer_ids: Iterable[int]) -> int:
    """Recompute the ARR movements of these top-level customers from their accounts' subscriptions."""
    import pandas as pd

    from opsdesk.success.movements import classify

    customers = set(customer_ids)
    if not customers:
        return 0
    session.flush()
    session.execute(delete(ArrMovement).where(ArrMovement.customer_id.in_(customers)))
    roots = queries.ultimate_parents(session)
    members = [account_id for account_id, root in roots.items() if root in customers]
    terms = queries.subscription_terms(session, members)
    if not terms:
        return 0
    movements = classify(arr_steps(terms), roots)
    session.add_all(
        ArrMovement(
            customer_id=int(row.customer_id),
            effective_on=pd.Timestamp(row.effective).date(),
            kind=MovementKind(row.kind),
            amount_cents=int(row.amount_cents),
            arr_after_cents=int(row.arr_after_cents),
            renewal_base_cents=int(row.renewal_base_cents),
        )
        for row in movements.itertuples(index=False)
    )
    session.flush()
    return len(movements)
