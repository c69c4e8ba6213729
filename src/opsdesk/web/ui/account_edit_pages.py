"""Editing the book from its pages, as the API edits it: a lead creates an account, the account's CSM
or a lead edits it and its contract terms (a new term, or an amendment of the running one), and leads
change the segment rules (everyone else reads them). The same ``success.access`` rules as the API; a
mistake shows the form again with the message beside the field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.bounds import MAX_CENTS, MAX_LIVES, MAX_PEPM_CENTS
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.core.queries import get_or_not_found
from opsdesk.success import access, actions, contracts, queries, segmenting
from opsdesk.success.models import Account, PriceModel, Segment, Stage, Subscription
from opsdesk.success.segments import FIELDS, OPERATORS, rules_as_lines, rules_from_lines
from opsdesk.web.api.params import FormBlankOrId, FormLine, FormOptionalId, FormText
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.form_values import optional_day
from opsdesk.web.ui.render import PageId, page

router = APIRouter(include_in_schema=False)
Refusal = (ValidationFailed, Conflict)


# --- typed values ----------------------------------------------------------------------------------


def whole(text: str, field: str, *, high: int = MAX_LIVES) -> int | None:
    """A whole number from 0 to ``high`` (thousands separators allowed), or None for a blank field."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not text.isdigit() or int(text) > high:
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must be a whole number from 0 to {high:,}", field=field
        )
    return int(text)


def cents(text: str, field: str, *, high: int) -> int | None:
    """Dollars as typed ("5", "5.25", "1,200") in cents, or None for a blank field."""
    text = text.strip().replace(",", "").removeprefix("$")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount * 100 != (amount * 100).to_integral_value():
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must be an amount in dollars, e.g. 5.25", field=field
        )
    if amount * 100 > high:
        raise ValidationFailed(f"{field.replace('_', ' ')} is above {high / 100:,.0f} dollars", field=field)
    return int(amount * 100)


def percentage(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ValidationFailed(f"{field.replace('_', ' ')} is a percentage from 0 to 100", field=field)
    return value


def _at_fault(error: Exception | None) -> str:
    """The form field an error names (the actions name a reference without its ``_id``)."""
    field = getattr(error, "field", "") or ""
    return f"{field}_id" if field in ("owner", "parent", "segment_override") else field


def _row(session: Session, model: type[Any], value: str, field: str) -> Any:
    if not value:
        return None
    row = session.get(model, int(value))
    if row is None:
        raise ValidationFailed(f"no {field.removesuffix('_id').replace('_', ' ')} {value}", field=field)
    return row


def _choices(session: Session) -> dict[str, Any]:
    return {
        "csms": session.scalars(select(User).where(User.role == Role.CSM).order_by(User.name)).all(),
        "parents": session.execute(select(Account.id, Account.name).order_by(Account.name)).all(),
        "segments": queries.segments(session),
        "stages": [s.value for s in Stage],
    }


# --- a new account ---------------------------------------------------------------------------------


def _new_page(
    request: Request, user: User, session: Session, form: dict[str, str], error: Exception | None = None
) -> Response:
    return page(
        request,
        "success/account_new.html",
        user,
        status_code=422 if error else 200,
        part="account",
        form=form,
        error=getattr(error, "message", ""),
        error_field=_at_fault(error),
        **_choices(session),
    )


@router.get("/customers/new")
def new_account_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    access.require_lead(user, "create accounts")
    return _new_page(request, user, session, {"stage": Stage.IMPLEMENTATION.value})


@router.post("/customers/new")
def post_new_account(
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    name: FormLine = "",
    external_id: FormLine = "",
    covered_lives: FormLine = "",
    industry: FormLine = "",
    region: FormLine = "",
    stage: FormLine = "",
    owner_id: FormBlankOrId = "",
    parent_id: FormBlankOrId = "",
) -> Response:
    access.require_lead(user, "create accounts")
    form = {
        "name": name, "external_id": external_id, "covered_lives": covered_lives, "industry": industry,
        "region": region, "stage": stage, "owner_id": owner_id, "parent_id": parent_id,
    }  # fmt: skip
    try:
        if stage not in {s.value for s in Stage}:
            raise ValidationFailed("choose a lifecycle stage", field="stage")
        account = actions.create_account(
            session,
            name=name[:200],
            clock=clock,
            covered_lives=whole(covered_lives, "covered_lives") or 0,
            external_id=external_id.strip()[:100] or None,
            parent=_row(session, Account, parent_id, "parent_id"),
            industry=industry.strip()[:100],
            region=region.strip()[:100],
            owner=_row(session, User, owner_id, "owner_id"),
            stage=Stage(stage),
            actor=user,
        )
    except Refusal as exc:
        session.rollback()
        return _new_page(request, user, session, form, exc)
    session.commit()
    return RedirectResponse(f"/customers/{account.id}", status_code=303)


# --- editing an account and its contract terms -----------------------------------------------------


def _edit_page(
    request: Request,
    user: User,
    session: Session,
    clock: Clock,
    account: Account,
    *,
    form: dict[str, str] | None = None,
    error: Exception | None = None,
    part: str = "",
) -> Response:
    today = clock.now().date()
    terms = sorted(account.subscriptions, key=lambda t: (t.start_date, t.id))
    shown = form or {
        "name": account.name,
        "covered_lives": str(account.covered_lives),
        "industry": account.industry or "",
        "region": account.region or "",
        "owner_id": str(account.owner_id or ""),
        "parent_id": str(account.parent_id or ""),
        "segment_override_id": str(account.segment_override_id or ""),
    }
    return page(
        request,
        "success/account_edit.html",
        user,
        status_code=422 if error else 200,
        account=account,
        form=shown,
        part=part,
        error=getattr(error, "message", ""),
        error_field=_at_fault(error),
        is_lead=user.role in access.LEADS,
        terms=terms,
        running=contracts.running_term(terms, today),
        today=today,
        price_models=[m.value for m in PriceModel],
        **_choices(session),
    )


def _workable(session: Session, user: User, account_id: int) -> Account:
    account = queries.account(session, account_id)
    access.require_work(user, account)
    return account


@router.get("/customers/{account_id}/edit")
def edit_account_page(
    account_id: PageId, request: Request, user: PageUser, session: SessionDep, clock: ClockDep
) -> Response:
    return _edit_page(request, user, session, clock, _workable(session, user, account_id))


@router.post("/customers/{account_id}/edit")
def post_edit_account(
    account_id: PageId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    name: FormLine = "",
    covered_lives: FormLine = "",
    industry: FormLine = "",
    region: FormLine = "",
    parent_id: FormBlankOrId = "",
    segment_override_id: FormBlankOrId = "",
    owner_id: FormOptionalId = None,
) -> Response:
    """Every field the form shows; the owner only when a lead's form sends it (a CSM's shows none)."""
    account = _workable(session, user, account_id)
    form = {
        "name": name, "covered_lives": covered_lives, "industry": industry, "region": region,
        "parent_id": parent_id, "segment_override_id": segment_override_id, "owner_id": owner_id or "",
    }  # fmt: skip
    changes: dict[str, Any] = {}
    try:
        lives = whole(covered_lives, "covered_lives")
        if lives is None:
            raise ValidationFailed("covered lives cannot be blank (0 for none)", field="covered_lives")
        changes = {
            "name": name[:200],
            "covered_lives": lives,
            "industry": industry.strip()[:100] or None,
            "region": region.strip()[:100] or None,
            "parent": _row(session, Account, parent_id, "parent_id"),
            "segment_override": _row(session, Segment, segment_override_id, "segment_override_id"),
        }
        if owner_id is not None and owner_id != str(account.owner_id or ""):
            access.require_lead(user, "move an account to another book")
            changes["owner"] = _row(session, User, owner_id, "owner_id")
        actions.update_account(session, account=account, clock=clock, actor=user, **changes)
    except Refusal as exc:
        session.rollback()
        account = queries.account(session, account_id)
        return _edit_page(request, user, session, clock, account, form=form, error=exc, part="account")
    session.commit()
    return RedirectResponse(f"/customers/{account_id}", status_code=303)


@router.post("/customers/{account_id}/terms")
def post_term(
    account_id: PageId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    start_date: FormLine = "",
    end_date: FormLine = "",
    price_model: FormLine = "",
    pepm: FormLine = "",
    covered_lives: FormLine = "",
    flat_annual: FormLine = "",
    escalator_pct: FormLine = "",
) -> Response:
    """A new contract term; the customer's ARR movements are rebuilt from its terms."""
    account = _workable(session, user, account_id)
    try:
        start, end = optional_day(start_date, "start_date"), optional_day(end_date, "end_date")
        if start is None or end is None:
            raise ValidationFailed(
                "a term needs its first and last day", field="start_date" if start is None else "end_date"
            )
        if price_model not in {m.value for m in PriceModel}:
            raise ValidationFailed("choose a price model", field="price_model")
        model = PriceModel(price_model)
        pepm_cents = cents(pepm, "pepm", high=MAX_PEPM_CENTS)
        lives = whole(covered_lives, "term_covered_lives")
        flat_cents = cents(flat_annual, "flat_annual", high=MAX_CENTS)
        if model is PriceModel.PEPM and (pepm_cents is None or lives is None):
            raise ValidationFailed(
                "a PEPM term needs its price per member and its covered lives",
                field="pepm" if pepm_cents is None else "term_covered_lives",
            )
        if model is PriceModel.FLAT_ANNUAL and flat_cents is None:
            raise ValidationFailed("a flat annual term needs its annual price", field="flat_annual")
        contracts.save_subscription(
            session,
            account=account,
            start=start,
            end=end,
            price_model=model,
            clock=clock,
            pepm_cents=pepm_cents,
            covered_lives=lives,
            flat_annual_cents=flat_cents,
            escalator_pct=percentage(escalator_pct, "escalator_pct"),
            actor=user,
        )
    except Refusal as exc:
        session.rollback()
        account = queries.account(session, account_id)
        return _edit_page(request, user, session, clock, account, error=exc, part="term")
    session.commit()
    return RedirectResponse(f"/customers/{account_id}/edit#terms", status_code=303)


@router.post("/customers/{account_id}/terms/{term_id}/amend")
def post_amendment(
    account_id: PageId,
    term_id: PageId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    effective: FormLine = "",
    pepm: FormLine = "",
    covered_lives: FormLine = "",
    flat_annual: FormLine = "",
) -> Response:
    """A mid-term change of price or covered lives; blank fields keep the term's."""
    account = _workable(session, user, account_id)
    term = get_or_not_found(session, Subscription, term_id, "contract term")
    if term.account_id != account.id:
        raise ValidationFailed(f"contract term {term_id} is not {account.name}'s", field="term_id")
    try:
        day = optional_day(effective, "effective")
        if day is None:
            raise ValidationFailed("an amendment needs the day it takes effect", field="effective")
        contracts.amend_subscription(
            session,
            subscription=term,
            effective=day,
            clock=clock,
            pepm_cents=cents(pepm, "amend_pepm", high=MAX_PEPM_CENTS),
            covered_lives=whole(covered_lives, "amend_covered_lives"),
            flat_annual_cents=cents(flat_annual, "amend_flat_annual", high=MAX_CENTS),
            actor=user,
        )
    except Refusal as exc:
        session.rollback()
        account = queries.account(session, account_id)
        return _edit_page(request, user, session, clock, account, error=exc, part="amend")
    session.commit()
    return RedirectResponse(f"/customers/{account_id}/edit#terms", status_code=303)


# --- segment rules ---------------------------------------------------------------------------------


def _segments_page(
    request: Request,
    user: User,
    session: Session,
    *,
    typed: dict[str, dict[str, str]] | None = None,
    error: Exception | None = None,
    part: str = "",
) -> Response:
    rows = queries.segments(session)
    shown = {str(s.id): {"priority": str(s.priority), "rules": rules_as_lines(s.rules)} for s in rows}
    shown["new"] = {"name": "", "priority": "100", "rules": ""}
    shown.update(typed or {})
    return page(
        request,
        "success/segments.html",
        user,
        status_code=422 if error else 200,
        segments=rows,
        shown=shown,
        part=part,
        error=getattr(error, "message", ""),
        error_field=_at_fault(error),
        may_edit=permissions.has(user, permissions.SUCCESS_WRITE) and user.role in access.LEADS,
        fields=FIELDS,
        operators=OPERATORS,
    )


@router.get("/customers/segments")
def segments_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    return _segments_page(request, user, session)


@router.post("/customers/segments")
def post_segment(
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    name: FormLine = "",
    priority: FormLine = "",
    rules: FormText = "",
) -> Response:
    """A new segment; every account is re-segmented."""
    access.require_lead(user, "change segment rules")
    try:
        order = whole(priority, "priority", high=1_000_000)
        segmenting.create_segment(
            session, name=name[:100], rules=rules_from_lines(rules), priority=100 if order is None else order,
            clock=clock,
        )  # fmt: skip
    except Refusal as exc:
        session.rollback()
        typed = {"new": {"name": name, "priority": priority, "rules": rules}}
        return _segments_page(request, user, session, typed=typed, error=exc, part="new")
    session.commit()
    return RedirectResponse("/customers/segments", status_code=303)


@router.post("/customers/segments/{segment_id}")
def post_segment_rules(
    segment_id: PageId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    priority: FormLine = "",
    rules: FormText = "",
) -> Response:
    """A segment's rules and priority as typed; every account is re-segmented."""
    access.require_lead(user, "change segment rules")
    segment = get_or_not_found(session, Segment, segment_id, "segment")
    try:
        segmenting.update_segment(
            session, segment=segment, clock=clock, rules=rules_from_lines(rules),
            priority=whole(priority, "priority", high=1_000_000),
        )  # fmt: skip
    except Refusal as exc:
        session.rollback()
        typed = {str(segment_id): {"priority": priority, "rules": rules}}
        return _segments_page(request, user, session, typed=typed, error=exc, part=str(segment_id))
    session.commit()
    return RedirectResponse(f"/customers/segments#segment-{segment_id}", status_code=303)
