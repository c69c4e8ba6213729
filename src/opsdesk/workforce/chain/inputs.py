"""What the chain reads from the database: the customer-success book and the desk's contact history.

Workforce reads success tables (the direction DESIGN allows: workforce -> success -> core) and the desk
only through the event log (opsdesk.workforce.queries.contact_volume_history).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from opsdesk.success.models import Account, Segment, Stage, Subscription
from opsdesk.success.pipeline.models import OPEN_STAGES, Opportunity, OpportunityKind, OpportunityStage
from opsdesk.workforce.chain.growth import UNSEGMENTED, BookAccount, EndingTerm, PipelineDeal


@dataclass(frozen=True)
class Book:
    accounts: list[BookAccount]
    renewals: list[EndingTerm]
    pipeline: list[PipelineDeal]
    annual_price_per_life_cents: int
    price_source: str


def read_book(
    session: Session, *, today: date, last_day: date, default_renewal: float, default_price_cents: int
) -> Book:
    """Live accounts with their lives and segment, terms ending by `last_day` with no later term, and
    open expansion deals closing by then, each with its effective probability."""
    from opsdesk.success.pipeline.queries import probability_table

    chosen = aliased(Segment)
    rows = session.execute(
        select(Account.id, Account.covered_lives, Account.stage, chosen.name).outerjoin(
            chosen, chosen.id == func.coalesce(Account.segment_override_id, Account.segment_id)
        )
    ).all()
    segment_of = {row[0]: row[3] or UNSEGMENTED for row in rows}
    stage_of = {row[0]: row[2] for row in rows}
    lives_of = {row[0]: int(row[1] or 0) for row in rows}
    accounts = [
        BookAccount(segment=segment_of[row[0]], lives=int(row[1] or 0))
        for row in rows
        if row[2] != Stage.CHURNED
    ]
    table = probability_table(session)

    def probability(kind: OpportunityKind, stage: OpportunityStage, override: int | None) -> float:
        return override / 100 if override is not None else table.probability(kind.value, stage.value)

    subscriptions = list(session.scalars(select(Subscription)))
    latest_start: dict[int, date] = {}
    for sub in subscriptions:
        latest_start[sub.account_id] = max(latest_start.get(sub.account_id, sub.start_date), sub.start_date)
    renewal_deals = {
        opp.renewal_of_id: opp
        for opp in session.scalars(select(Opportunity).where(Opportunity.renewal_of_id.is_not(None)))
    }
    renewals = []
    for sub in subscriptions:
        if not today <= sub.end_date <= last_day or stage_of.get(sub.account_id) == Stage.CHURNED:
            continue
        if latest_start[sub.account_id] > sub.start_date:
            continue  # a later term exists: renewed (or amended) already
        deal = renewal_deals.get(sub.id)
        p = default_renewal if deal is None else probability(deal.kind, deal.stage, deal.probability_pct)
        lives = sub.covered_lives if sub.covered_lives is not None else lives_of.get(sub.account_id, 0)
        renewals.append(
            EndingTerm(
                segment=segment_of[sub.account_id], lives=lives, ends_on=sub.end_date, renewal_probability=p
            )
        )
    deals = session.scalars(
        select(Opportunity).where(
            Opportunity.kind != OpportunityKind.RENEWAL,
            Opportunity.stage.in_(OPEN_STAGES),
            Opportunity.close_date <= last_day,
        )
    )
    pipeline = [
        PipelineDeal(
            segment=segment_of[deal.account_id],
            close_date=deal.close_date,
            arr_cents=int(deal.amount_cents),
            probability=probability(deal.kind, deal.stage, deal.probability_pct),
            new_customer=stage_of.get(deal.account_id) == Stage.IMPLEMENTATION,
        )
        for deal in deals
    ]
    prices = [
        int(sub.pepm_cents) * 12
        for sub in subscriptions
        if sub.pepm_cents and sub.start_date <= today <= sub.end_date
    ]
    if prices:
        price, source = int(statistics.median(prices)), "median PEPM x 12 of the contracts in force"
    else:
        price, source = default_price_cents, "the assumption (no per-life contract in force)"
    return Book(accounts, renewals, pipeline, price, source)
