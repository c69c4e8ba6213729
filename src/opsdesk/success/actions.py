"""Account writes for customer success: accounts, their lifecycle stage, contacts and monthly utilisation.
Each runs in the caller's transaction (flush, never commit) and appends its events there. Segments are
written in ``segmenting``, subscriptions and ARR movements in ``contracts``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Organisation, Role, User
from opsdesk.success import published, queries
from opsdesk.success.contracts import rebuild_movements
from opsdesk.success.covered_lives import record_covered_lives
from opsdesk.success.models import Account, Contact, ContactRole, Segment, Stage, Utilisation
from opsdesk.success.segmenting import ensure_default_segments, resegment

ACCOUNT_FIELDS = ("name", "covered_lives", "industry", "region", "owner", "parent", "organisation")


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
