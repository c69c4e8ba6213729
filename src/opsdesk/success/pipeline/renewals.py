"""Renewal opportunities opened ahead of contract end, as Gainsight's renewal center expects one
renewal record per term coming up: its amount is the ARR in force on the term's last day (escalators
included), its close date that last day, its owner the account's CSM.

A term gets no renewal opportunity when it was ended early by an amendment (its end is not up for
renewal) or when the account already has a term starting the day after it ends (renewed already).
Running the generation again never makes a second opportunity for a term: each is keyed by its
subscription (a unique column), checked first and guarded by a savepoint against a concurrent run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import queries as success_queries
from opsdesk.success.arr import term_steps
from opsdesk.success.models import Account, Subscription
from opsdesk.success.pipeline import actions
from opsdesk.success.pipeline.lead_time import DEFAULT_LEAD_DAYS, MAX_LEAD_DAYS
from opsdesk.success.pipeline.models import Opportunity, OpportunityKind


@dataclass
class RenewalRun:
    created: list[Opportunity] = field(default_factory=list)
    already_open: int = 0  # terms in the window that already have their renewal opportunity
    skipped_renewed: int = 0  # terms followed by a term that starts the next day
    skipped_amended: int = 0  # terms ended early by an amendment


def generate_renewals(
    session: Session,
    *,
    today: date,
    clock: Clock,
    lead_days: int = DEFAULT_LEAD_DAYS,
    actor: User | None = None,
) -> RenewalRun:
    """Open a renewal opportunity for every term whose last day falls within ``lead_days`` of today."""
    if not 0 <= lead_days <= MAX_LEAD_DAYS:
        raise ValidationFailed(f"lead days must be between 0 and {MAX_LEAD_DAYS}", field="lead_days")
    horizon = today + timedelta(days=lead_days)
    due = session.scalars(
        select(Subscription)
        .where(Subscription.end_date >= today, Subscription.end_date <= horizon)
        .order_by(Subscription.end_date, Subscription.id)
    ).all()
    run = RenewalRun()
    if not due:
        return run
    account_ids = sorted({s.account_id for s in due})
    terms = {t.subscription_id: t for t in success_queries.subscription_terms(session, account_ids)}
    starts = {
        (account_id, start)
        for account_id, start in session.execute(
            select(Subscription.account_id, Subscription.start_date).where(
                Subscription.account_id.in_(account_ids)
            )
        )
    }
    have = set(
        session.scalars(
            select(Opportunity.renewal_of_id).where(Opportunity.renewal_of_id.in_([s.id for s in due]))
        )
    )
    for sub in due:
        term = terms[sub.id]
        if sub.id in have:
            run.already_open += 1
            continue
        if term.amended:
            run.skipped_amended += 1
            continue
        if (sub.account_id, sub.end_date + timedelta(days=1)) in starts:
            run.skipped_renewed += 1
            continue
        arr_at_end = sum(delta for *_, when, delta, _ in term_steps(term) if when <= sub.end_date)
        account = session.get(Account, sub.account_id)
        assert account is not None  # a foreign key guarantees it
        try:
            with session.begin_nested():
                opportunity = actions.create_opportunity(
                    session,
                    account=account,
                    kind=OpportunityKind.RENEWAL,
                    amount_cents=arr_at_end,
                    close_date=sub.end_date,
                    name=f"Renewal: {account.name} (term ending {sub.end_date.isoformat()})",
                    renewal_of_id=sub.id,
                    clock=clock,
                    actor=actor,
                )
        except IntegrityError:  # a concurrent run made it first
            run.already_open += 1
            continue
        run.created.append(opportunity)
    return run
