"""Deals whose stage history happened elsewhere or earlier (a CRM import, the demo's past year): the
opportunity is written with its dated history rows as they happened. Closing here books no contract:
the contracts of the past are already on file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.success.models import Account
from opsdesk.success.pipeline.models import Opportunity, OpportunityHistory, OpportunityKind, OpportunityStage


@dataclass(frozen=True)
class PastState:
    """The deal as it stood from ``at`` until the next state."""

    at: datetime
    stage: OpportunityStage
    amount_cents: int
    close_date: date


def save_with_history(
    session: Session,
    *,
    account: Account,
    kind: OpportunityKind,
    name: str,
    states: list[PastState],
    clock: Clock,
    owner: User | None = None,
    external_id: str | None = None,
    renewal_of_id: int | None = None,
    won_subscription_id: int | None = None,
    opportunity: Opportunity | None = None,
) -> Opportunity:
    """Create (or, given ``opportunity``, rewrite) a deal from its dated states, oldest first; the last
    state is its current one. An ``opportunity_imported`` event records the write."""
    if not states:
        raise ValidationFailed("a deal needs at least one state", field="states")
    states = sorted(states, key=lambda s: s.at)
    first, last = states[0], states[-1]
    if opportunity is None:
        opportunity = Opportunity(created_at=first.at, external_id=external_id)
        session.add(opportunity)
    else:
        for row in list(opportunity.history):
            session.delete(row)
        session.flush()
    responsible = owner or account.owner
    opportunity.account_id, opportunity.kind, opportunity.name = account.id, kind, name[:200]
    opportunity.amount_cents, opportunity.stage = last.amount_cents, last.stage
    opportunity.close_date, opportunity.updated_at = last.close_date, last.at
    opportunity.owner_id = responsible.id if responsible is not None else None
    opportunity.closed_on = last.at.date() if last.stage.is_closed else None
    if renewal_of_id is not None:
        opportunity.renewal_of_id = renewal_of_id
    if won_subscription_id is not None:
        opportunity.won_subscription_id = won_subscription_id
    session.flush()
    session.add_all(
        OpportunityHistory(
            opportunity_id=opportunity.id,
            at=state.at,
            stage=state.stage,
            amount_cents=state.amount_cents,
            close_date=state.close_date,
        )
        for state in states
    )
    session.flush()
    session.expire(opportunity, ["history"])
    append_event(
        session,
        subject_type="opportunity",
        subject_id=opportunity.id,
        type="opportunity_imported",
        at=clock.now(),
        data={
            "external_id": external_id,
            "account_id": account.id,
            "stage": last.stage.value,
            "history_rows": len(states),
        },
    )
    return opportunity
