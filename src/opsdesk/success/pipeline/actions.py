"""Writes for the pipeline. Each runs in the caller's transaction (flush, never commit), appends a
history row with the opportunity's new forecast state, and an event on the opportunity."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.success.models import Account
from opsdesk.success.pipeline.models import (
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    OpportunityKind,
    OpportunityStage,
)
from opsdesk.success.pipeline.wins import book_win

UPDATABLE = ("name", "amount_cents", "close_date", "probability_pct", "category", "owner", "notes")
MAX_CENTS = 10**15  # ten trillion dollars: beyond any contract, below every integer limit


def _check(amount_cents: int | None, probability_pct: int | None, owner: User | None) -> None:
    if amount_cents is not None and not 0 <= amount_cents <= MAX_CENTS:
        raise ValidationFailed("the amount must be between 0 and 10^15 cents", field="amount_cents")
    if probability_pct is not None and not 0 <= probability_pct <= 100:
        raise ValidationFailed("a probability is a percentage from 0 to 100", field="probability_pct")
    if owner is not None and owner.role not in (Role.CSM, Role.CS_LEAD, Role.ADMIN):
        raise ValidationFailed(f"opportunity owner {owner.email} is not in customer success", field="owner")


def _record(session: Session, opportunity: Opportunity, actor: User | None, clock: Clock) -> None:
    session.add(
        OpportunityHistory(
            opportunity_id=opportunity.id,
            at=clock.now(),
            stage=opportunity.stage,
            amount_cents=opportunity.amount_cents,
            close_date=opportunity.close_date,
            probability_pct=opportunity.probability_pct,
            category=opportunity.category,
            actor_id=actor.id if actor else None,
        )
    )


def create_opportunity(
    session: Session,
    *,
    account: Account,
    kind: OpportunityKind,
    amount_cents: int,
    close_date: date,
    clock: Clock,
    name: str | None = None,
    stage: OpportunityStage = OpportunityStage.QUALIFY,
    probability_pct: int | None = None,
    category: ForecastCategory | None = None,
    owner: User | None = None,
    notes: str | None = None,
    renewal_of_id: int | None = None,
    actor: User | None = None,
) -> Opportunity:
    """Open a deal; the account's CSM owns it unless someone else is named. A deal may be entered
    already closed (history imported late): it is closed on the day it is entered."""
    _check(amount_cents, probability_pct, owner)
    title = (name or f"{kind.value.replace('_', '-').capitalize()}: {account.name}").strip()
    if not title:
        raise ValidationFailed("an opportunity needs a name", field="name")
    now = clock.now()
    responsible = owner or account.owner
    opportunity = Opportunity(
        account_id=account.id,
        name=title[:200],
        kind=kind,
        amount_cents=amount_cents,
        stage=stage,
        probability_pct=probability_pct,
        category=category,
        close_date=close_date,
        owner_id=responsible.id if responsible is not None else None,
        renewal_of_id=renewal_of_id,
        notes=notes,
        created_at=now,
        updated_at=now,
        closed_on=now.date() if stage.is_closed else None,
    )
    session.add(opportunity)
    session.flush()
    _record(session, opportunity, actor, clock)
    data: dict[str, Any] = {
        "account_id": account.id,
        "kind": kind.value,
        "stage": stage.value,
        "amount_cents": amount_cents,
        "close_date": close_date.isoformat(),
    }
    if renewal_of_id is not None:
        data["renewal_of_subscription_id"] = renewal_of_id
    append_event(
        session,
        subject_type="opportunity",
        subject_id=opportunity.id,
        type="opportunity_created",
        at=now,
        actor=actor,
        data=data,
    )
    return opportunity


def update_opportunity(
    session: Session, *, opportunity: Opportunity, clock: Clock, actor: User | None = None, **changes: Any
) -> Opportunity:
    """Change any of UPDATABLE; ``probability_pct`` or ``category`` set to None clears the override."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    _check(changes.get("amount_cents"), changes.get("probability_pct"), changes.get("owner"))
    if "name" in changes and not (changes["name"] or "").strip():
        raise ValidationFailed("an opportunity needs a name", field="name")
    changed: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "owner":
            new_id = value.id if value is not None else None
            if new_id != opportunity.owner_id:
                opportunity.owner_id = new_id
                changed["owner_id"] = new_id
            continue
        if getattr(opportunity, field) != value:
            setattr(opportunity, field, value)
            changed[field] = value.isoformat() if isinstance(value, date) else value
    if not changed:
        return opportunity
    opportunity.updated_at = clock.now()
    session.flush()
    _record(session, opportunity, actor, clock)
    append_event(
        session,
        subject_type="opportunity",
        subject_id=opportunity.id,
        type="opportunity_updated",
        at=clock.now(),
        actor=actor,
        data=changed,
    )
    return opportunity


def move_stage(
    session: Session,
    *,
    opportunity: Opportunity,
    to: OpportunityStage,
    clock: Clock,
    actor: User | None = None,
    amount_cents: int | None = None,
) -> Opportunity:
    """Move a deal to another stage. Closing stamps the close day (and may set the final amount);
    reopening a closed deal clears it. Moving to the stage it is in changes nothing. Winning updates
    the contract and ARR (``wins.book_win``) once per deal; reopening leaves the booked term in place."""
    _check(amount_cents, None, None)
    if opportunity.stage is to:
        return opportunity
    previous = opportunity.stage
    now = clock.now()
    if to is OpportunityStage.CLOSED_WON:
        won_amount = amount_cents if amount_cents is not None else opportunity.amount_cents
        book_win(
            session,
            opportunity=opportunity,
            won_on=now.date(),
            amount_cents=won_amount,
            clock=clock,
            actor=actor,
        )
    opportunity.stage = to
    opportunity.closed_on = now.date() if to.is_closed else None
    if amount_cents is not None:
        opportunity.amount_cents = amount_cents
    opportunity.updated_at = now
    session.flush()
    _record(session, opportunity, actor, clock)
    append_event(
        session,
        subject_type="opportunity",
        subject_id=opportunity.id,
        type="opportunity_stage_changed",
        at=now,
        actor=actor,
        data={
            "from": previous.value,
            "to": to.value,
            "account_id": opportunity.account_id,
            "amount_cents": opportunity.amount_cents,
        },
    )
    return opportunity


def delete_opportunity(
    session: Session, *, opportunity: Opportunity, clock: Clock, actor: User | None = None
) -> None:
    """Remove a deal entered by mistake, with its history; the event keeps what it was."""
    append_event(
        session,
        subject_type="opportunity",
        subject_id=opportunity.id,
        type="opportunity_deleted",
        at=clock.now(),
        actor=actor,
        data={
            "account_id": opportunity.account_id,
            "kind": opportunity.kind.value,
            "stage": opportunity.stage.value,
            "amount_cents": opportunity.amount_cents,
        },
    )
    for row in list(opportunity.history):
        session.delete(row)
    session.delete(opportunity)
    session.flush()
