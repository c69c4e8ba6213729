"""Accounts, their contracts and the segment rules over HTTP, so a CS team edits them without a CSV:
POST /api/v1/accounts, GET/PATCH /api/v1/accounts/{id}, POST /api/v1/accounts/{id}/subscriptions,
POST /api/v1/accounts/{id}/subscriptions/{term id}/amendments, GET/POST /api/v1/segments,
PATCH /api/v1/segments/{id}. A CSM edits the accounts of their own book; CS
leads and admins create accounts and change segment rules (which re-segment every account)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import Organisation, User
from opsdesk.core.queries import get_or_not_found
from opsdesk.success import actions, contracts, queries, segmenting
from opsdesk.success.access import require_lead, require_work
from opsdesk.success.models import Account, Segment, Subscription
from opsdesk.success.schemas import (
    AccountIn,
    AccountOut,
    AccountPatch,
    AmendmentIn,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SubscriptionIn,
    SubscriptionOut,
)
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["customer success"])

# Body field -> (the action's argument, the model it names).
REFERENCES: dict[str, tuple[str, type[Any]]] = {
    "owner_id": ("owner", User),
    "parent_id": ("parent", Account),
    "organisation_id": ("organisation", Organisation),
    "segment_override_id": ("segment_override", Segment),
}


def _referenced(session: SessionDep, field: str, value: int | None) -> Any:
    if value is None:
        return None
    _name, model = REFERENCES[field]
    row = session.get(model, value)
    if row is None:
        raise ValidationFailed(f"no {field.removesuffix('_id').replace('_', ' ')} {value}", field=field)
    return row


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: PathId, user: CurrentUser, session: SessionDep) -> Account:
    permissions.require(user, permissions.SUCCESS_READ)
    return queries.account(session, account_id)


@router.post("/accounts", status_code=201, response_model=AccountOut)
def post_account(body: AccountIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Account:
    require_lead(user, "create accounts")
    account = actions.create_account(
        session,
        name=body.name,
        clock=clock,
        covered_lives=body.covered_lives,
        external_id=body.external_id,
        parent=_referenced(session, "parent_id", body.parent_id),
        industry=body.industry,
        region=body.region,
        owner=_referenced(session, "owner_id", body.owner_id),
        stage=body.stage,
        organisation=_referenced(session, "organisation_id", body.organisation_id),
        actor=user,
    )
    session.commit()
    return account


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def patch_account(
    account_id: PathId, body: AccountPatch, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Account:
    account = queries.account(session, account_id)
    require_work(user, account)
    changes: dict[str, Any] = {}
    for field in sorted(body.model_fields_set):
        value = getattr(body, field)
        if field in REFERENCES:
            if field == "owner_id":
                require_lead(user, "move an account to another book")
            changes[REFERENCES[field][0]] = _referenced(session, field, value)
        elif value is None and field in ("name", "covered_lives"):
            raise ValidationFailed(f"{field} cannot be cleared", field=field)
        else:
            changes[field] = value
    actions.update_account(session, account=account, clock=clock, actor=user, **changes)
    session.commit()
    return account


@router.post("/accounts/{account_id}/subscriptions", status_code=201, response_model=SubscriptionOut)
def post_subscription(
    account_id: PathId, body: SubscriptionIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Subscription:
    """A contract (or, under an external id already known, its new terms): the account's ARR movements
    are rebuilt from its contracts."""
    account = queries.account(session, account_id)
    require_work(user, account)
    subscription = contracts.save_subscription(
        session,
        account=account,
        start=body.start_date,
        end=body.end_date,
        price_model=body.price_model,
        clock=clock,
        pepm_cents=body.pepm_cents,
        covered_lives=body.covered_lives,
        flat_annual_cents=body.flat_annual_cents,
        escalator_pct=body.escalator_pct,
        external_id=body.external_id,
        actor=user,
    )
    session.commit()
    return subscription


@router.post(
    "/accounts/{account_id}/subscriptions/{subscription_id}/amendments",
    status_code=201,
    response_model=SubscriptionOut,
)
def post_amendment(
    account_id: PathId,
    subscription_id: PathId,
    body: AmendmentIn,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> Subscription:
    """Amend a running term from a day inside it; returns the new term (the old one now ends the day
    before). The account's CSM or a CS lead."""
    account = queries.account(session, account_id)
    require_work(user, account)
    term = session.get(Subscription, subscription_id)
    if term is None or term.account_id != account.id:
        raise NotFound(f"no contract term {subscription_id} on account {account_id}", field="subscription_id")
    new = contracts.amend_subscription(
        session,
        subscription=term,
        effective=body.effective,
        clock=clock,
        pepm_cents=body.pepm_cents,
        covered_lives=body.covered_lives,
        flat_annual_cents=body.flat_annual_cents,
        actor=user,
    )
    session.commit()
    return new


@router.get("/segments", response_model=list[SegmentOut])
def get_segments(user: CurrentUser, session: SessionDep) -> list[Segment]:
    permissions.require(user, permissions.SUCCESS_READ)
    return list(session.scalars(select(Segment).order_by(Segment.priority, Segment.id)))


@router.post("/segments", status_code=201, response_model=SegmentOut)
def post_segment(body: SegmentIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Segment:
    require_lead(user, "change segment rules")
    segment = segmenting.create_segment(
        session, name=body.name, rules=body.rules, priority=body.priority, clock=clock
    )
    session.commit()
    return segment


@router.patch("/segments/{segment_id}", response_model=SegmentOut)
def patch_segment(
    segment_id: PathId, body: SegmentPatch, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Segment:
    require_lead(user, "change segment rules")
    segment = get_or_not_found(session, Segment, segment_id, "segment")
    segmenting.update_segment(session, segment=segment, clock=clock, rules=body.rules, priority=body.priority)
    session.commit()
    return segment
