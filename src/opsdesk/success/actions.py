"""Writes for customer success. Each runs in the caller's transaction (flush, never commit) and appends
its events there. ARR movements are derived data: they are rebuilt for the affected customers whenever a
subscription or the account hierarchy changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Organisation, Role, User
from opsdesk.success import published, queries
from opsdesk.success.arr import annual_value_cents, arr_steps
from opsdesk.success.covered_lives import record_covered_lives
from opsdesk.success.models import (
    Account,
    ArrMovement,
    Contact,
    ContactRole,
    MovementKind,
    PriceModel,
    Segment,
    Stage,
    Subscription,
    Utilisation,
)
from opsdesk.success.segments import DEFAULT_BANDS, SegmentRules, matching_segment, validate_rules

ACCOUNT_FIELDS = ("name", "covered_lives", "industry", "region", "owner", "parent", "organisation")


# --- segments -------------------------------------------------------------------------------------


def ensure_default_segments(session: Session, *, clock: Clock) -> list[Segment]:
    """Create the five covered-lives bands when no segment exists yet."""
    existing = queries.segments(session)
    if existing:
        return existing
    for band in DEFAULT_BANDS:
        session.add(Segment(name=band.name, priority=band.priority, rules=band.rules, created_at=clock.now()))
    session.flush()
    return queries.segments(session)


def create_segment(
    session: Session, *, name: str, rules: list[dict[str, Any]], priority: int, clock: Clock
) -> Segment:
    """Add a segment and re-segment every account, since the new rules may claim some of them."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a segment needs a name", field="name")
    if session.scalar(select(Segment.id).where(Segment.name == name)) is not None:
        raise Conflict(f"a segment named {name!r} already exists", field="name")
    segment = Segment(name=name, priority=priority, rules=validate_rules(rules), created_at=clock.now())
    session.add(segment)
    session.flush()
    resegment(session, session.scalars(select(Account)).all(), clock=clock)
    return segment


def update_segment(
    session: Session,
    *,
    segment: Segment,
    clock: Clock,
    rules: list[dict[str, Any]] | None = None,
    priority: int | None = None,
) -> Segment:
    """Change a segment's rules or priority and re-segment every account under the new rules."""
    if rules is not None:
        segment.rules = validate_rules(rules)
    if priority is not None:
        segment.priority = priority
    session.flush()
    resegment(session, session.scalars(select(Account)).all(), clock=clock)
    return segment


def family_lives(account: Account) -> int:
    """The covered lives of an account and every account below it. An employer's parent record often
    holds no lives of its own (its subsidiaries do): segmented on its own zero it fell in no segment."""
    total, seen, stack = 0, set(), [account]
    while stack:
        current = stack.pop()
        if id(current) in seen:  # a cycle would be a data error; count each account once
            continue
        seen.add(id(current))
        total += current.covered_lives or 0
        stack.extend(current.children)
    return total


def _attributes(account: Account) -> dict[str, Any]:
    return {
        "covered_lives": family_lives(account),
        "industry": account.industry,
        "region": account.region,
        "stage": account.stage.value,
        "name": account.name,
        "owner_email": account.owner.email if account.owner else None,
    }


def _with_ancestors(accounts: Iterable[Account]) -> list[Account]:
    """The accounts and every parent above them, once each: a child's lives count in its parents'."""
    found: dict[int, Account] = {}  # by identity: a new account has no id yet
    for account in accounts:
        current: Account | None = account
        while current is not None and id(current) not in found:
            found[id(current)] = current
            current = current.parent
    return list(found.values())


def resegment(session: Session, accounts: Iterable[Account], *, clock: Clock, record: bool = True) -> None:
    """Recompute the rule-based segment of each account and of its parents (segmented on their family's
    covered lives), recording the ones that move (a new account's segment is part of its creation event
    instead)."""
    rows = queries.segments(session)
    rules = [SegmentRules(s.name, s.priority, s.rules) for s in rows]
    by_name = {s.name: s for s in rows}
    given = list(accounts)
    named = {id(account) for account in given}
    for account in _with_ancestors(given):
        name = matching_segment(rules, _attributes(account))
        new_id = by_name[name].id if name else None
        if new_id != account.segment_id:
            old = account.segment.name if account.segment else None
            account.segment_id = new_id
            account.segment = by_name[name] if name else None
            published.publish(
                session, account, clock=clock, **{published.SEGMENT: published.segment_name(account)}
            )
            if record or id(account) not in named:  # a parent's move is always recorded
                append_event(
                    session,
                    subject_type="account",
                    subject_id=account.id,
                    type="account_segment_changed",
                    at=clock.now(),
                    data={"from": old, "to": name},
                )


def segment_by_name(session: Session, name: str) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is None:
        known = ", ".join(s.name for s in queries.segments(session))
        raise ValidationFailed(f"unknown segment {name!r} (known: {known})", field="segment")
    return segment


# --- accounts ---------------------------------------------------------------------------------------


def _check_owner(owner: User | None) -> None:
    if owner is not None and owner.role is not Role.CSM:
        raise ValidationFailed(f"account owner {owner.email} is not a CSM", field="owner")


def create_account(
    session: Session,
    *,
    name: str,
    clock: Clock,
    covered_lives: int = 0,
    external_id: str | None = None,
    parent: Account | None = None,
    industry: str | None = None,
    region: str | None = None,
    owner: User | None = None,
    stage: Stage = Stage.IMPLEMENTATION,
    stage_since: date | None = None,
    organisation: Organisation | None = None,
    segment_override: Segment | None = None,
    actor: User | None = None,
) -> Account:
    if not name.strip():
        raise ValidationFailed("an account needs a name", field="name")
    if covered_lives < 0:
        raise ValidationFailed("covered lives cannot be negative", field="covered_lives")
    if external_id and queries.account_by_external_id(session, external_id) is not None:
        raise Conflict(f"an account with external id {external_id} already exists", field="external_id")
    _check_owner(owner)
    now = clock.now()
    account = Account(
        name=name.strip(),
        external_id=external_id or None,
        parent=parent,
        covered_lives=covered_lives,
        industry=industry or None,
        region=region or None,
        owner=owner,
        stage=stage,
        stage_since=stage_since or now.date(),
        organisation=organisation,
        segment_override_id=segment_override.id if segment_override else None,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    ensure_default_segments(session, clock=clock)
    resegment(session, [account], clock=clock, record=False)
    session.flush()
    record_covered_lives(session, account_id=account.id, on=now.date(), lives=covered_lives)
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="account_created",
        at=now,
        actor=actor,
        data={
            "stage": stage.value,
            "stage_since": account.stage_since.isoformat(),
            "parent_id": parent.id if parent else None,
            "segment": account.segment.name if account.segment else None,
        },
    )
    published.publish(
        session,
        account,
        clock=clock,
        **{published.SEGMENT: published.segment_name(account), published.LIFECYCLE_STAGE: stage.value},
    )
    return account


def update_account(
    session: Session, *, account: Account, clock: Clock, actor: User | None = None, **changes: Any
) -> Account:
    """Change any of ACCOUNT_FIELDS (and ``segment_override``); re-segments and, when the parent changes,
    rebuilds the movements of the old and the new top-level customer."""
    unknown = set(changes) - {*ACCOUNT_FIELDS, "segment_override"}
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    if changes.get("covered_lives", 0) < 0:
        raise ValidationFailed("covered lives cannot be negative", field="covered_lives")
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            raise ValidationFailed("an account needs a name", field="name")
    if "owner" in changes:
        _check_owner(changes["owner"])
    old_roots: set[int] = set()
    former_parent = account.parent  # loses this family's lives when the parent changes
    if "parent" in changes and changes["parent"] is not account.parent:
        new_parent: Account | None = changes["parent"]
        if new_parent is not None and queries.would_cycle(session, account.id, new_parent.id):
            raise ValidationFailed(
                f"{new_parent.name} is below {account.name}; that would be a loop", field="parent"
            )
        old_roots.add(queries.ultimate_parents(session).get(account.id, account.id))
    changed: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "segment_override":
            new_id = value.id if value is not None else None
            if new_id != account.segment_override_id:
                account.segment_override_id = new_id
                changed[field] = value.name if value is not None else None
            continue
        if getattr(account, field) != value:
            setattr(account, field, value)
            changed[field] = value.id if hasattr(value, "id") else value
    if not changed:
        return account
    account.updated_at = clock.now()
    moved = [former_parent] if former_parent is not None and former_parent is not account.parent else []
    if moved:
        session.flush()  # the former parent's children no longer list this account
        session.expire(former_parent, ["children"])
    resegment(session, [account, *moved], clock=clock)
    session.flush()
    if "covered_lives" in changed:
        record_covered_lives(
            session, account_id=account.id, on=clock.now().date(), lives=account.covered_lives
        )
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="account_updated",
        at=clock.now(),
        actor=actor,
        data=changed,
    )
    if old_roots:
        rebuild_movements(session, old_roots | {queries.ultimate_parents(session)[account.id]})
    return account


def change_stage(
    session: Session, *, account: Account, to: Stage, on: date, clock: Clock, actor: User | None = None
) -> None:
    """Move the account through its lifecycle; the dated transition is an event."""
    if account.stage is to:
        return
    if on > clock.now().date():
        raise ValidationFailed("a stage change cannot be dated in the future", field="on")
    previous = account.stage
    account.stage, account.stage_since, account.updated_at = to, on, clock.now()
    resegment(session, [account], clock=clock)
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="account_stage_changed",
        at=clock.now(),
        actor=actor,
        data={"from": previous.value, "to": to.value, "on": on.isoformat()},
    )
    published.publish(session, account, clock=clock, **{published.LIFECYCLE_STAGE: to.value})


# --- contacts ---------------------------------------------------------------------------------------


def save_contact(
    session: Session,
    *,
    account: Account,
    name: str,
    role: ContactRole,
    clock: Clock,
    email: str | None = None,
    title: str | None = None,
    external_id: str | None = None,
) -> Contact:
    """Add a contact, or update the one with this external id."""
    if not name.strip():
        raise ValidationFailed("a contact needs a name", field="name")
    contact = (
        session.scalar(select(Contact).where(Contact.external_id == external_id)) if external_id else None
    )
    if contact is None:
        contact = Contact(
            external_id=external_id or None, account=account, role=role, name="", created_at=clock.now()
        )
        session.add(contact)
    contact.account, contact.name, contact.role = account, name.strip(), role
    contact.email = email.strip().lower() if email else None
    contact.title = title or None
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="contact_saved",
        at=clock.now(),
        data={"contact_id": contact.id, "role": role.value},
    )
    return contact


# --- subscriptions and ARR ------------------------------------------------------------------------------


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
    published.publish(
        session,
        account,
        clock=clock,
        **{published.ARR_BAND: published.current_arr_band(session, account, clock=clock)},
    )
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
    root = queries.ultimate_parents(session).get(subscription.account_id, subscription.account_id)
    rebuild_movements(session, {root})
    session.flush()
    owner = session.get_one(Account, subscription.account_id)
    published.publish(
        session,
        owner,
        clock=clock,
        **{published.ARR_BAND: published.current_arr_band(session, owner, clock=clock)},
    )
    return new


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


# --- utilisation ------------------------------------------------------------------------------------


def record_utilisation(
    session: Session,
    *,
    account: Account,
    month: date,
    engaged_members: int,
    sessions: int,
    programme_uptake_pct: Decimal,
) -> Utilisation:
    """Store one month of engagement, replacing what was there for that account and month."""
    if engaged_members < 0 or sessions < 0:
        raise ValidationFailed("member and session counts cannot be negative", field="engaged_members")
    if not Decimal(0) <= programme_uptake_pct <= Decimal(100):
        raise ValidationFailed("programme uptake is a percentage from 0 to 100", field="programme_uptake_pct")
    month = month.replace(day=1)
    row = session.scalar(
        select(Utilisation).where(Utilisation.account_id == account.id, Utilisation.month == month)
    )
    if row is None:
        row = Utilisation(
            account_id=account.id, month=month, engaged_members=0, sessions=0, programme_uptake_pct=Decimal(0)
        )
        session.add(row)
    row.engaged_members, row.sessions, row.programme_uptake_pct = (
        engaged_members,
        sessions,
        programme_uptake_pct,
    )
    session.flush()
    return row
