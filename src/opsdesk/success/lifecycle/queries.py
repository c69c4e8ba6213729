"""Reads for the lifecycle: phase owners, the checklist in force for a transition, and the stage history
of accounts rebuilt from the event log (``account_created`` and ``account_stage_changed``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from opsdesk.core.models import Event, Role, User
from opsdesk.success.lifecycle.handoff import Item, default_items, parse_items
from opsdesk.success.lifecycle.models import HandoffChecklist, PhaseOwner
from opsdesk.success.lifecycle.phases import PHASE_OF_STAGE, STORED_PHASES, Phase
from opsdesk.success.lifecycle.timing import (
    AccountTiming,
    Entered,
    SegmentTiming,
    Spell,
    account_timing,
    segment_timing,
    spells,
)
from opsdesk.success.models import Account, Segment, Stage

UNSEGMENTED = "(none)"
STAGE_EVENTS = ("account_created", "account_stage_changed")
STAGE_VALUES = frozenset(s.value for s in Stage)


def phase_owners(session: Session, account: Account) -> dict[Phase, User | None]:
    """Who owns each phase of the account as stored (post-launch: the CSM); None where nobody does."""
    stored = {
        row.phase: row.user
        for row in session.scalars(select(PhaseOwner).where(PhaseOwner.account_id == account.id))
    }
    return {
        Phase.IMPLEMENTATION: stored.get(Phase.IMPLEMENTATION),
        Phase.POST_LAUNCH: account.owner,
        Phase.RENEWAL: stored.get(Phase.RENEWAL),
    }


def possible_owners(session: Session) -> list[User]:
    """The people a page offers as phase owners: active CSMs and CS leads."""
    return list(
        session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_((Role.CSM, Role.CS_LEAD)))
            .order_by(User.name, User.id)
        )
    )


def _can_take_work(user: User | None) -> bool:
    return user is not None and user.active and user.is_staff


def owner_for_stage(session: Session, account: Account, stage: Stage) -> User | None:
    """The owner of the phase the stage belongs to; the CSM when that phase has no active owner."""
    owners = phase_owners(session, account)
    for candidate in (owners[PHASE_OF_STAGE[stage]], account.owner):
        if _can_take_work(candidate):
            return candidate
    return None


def stored_checklist(session: Session, from_stage: Stage, to: Stage) -> HandoffChecklist | None:
    return session.scalar(
        select(HandoffChecklist).where(
            HandoffChecklist.from_stage == from_stage, HandoffChecklist.to_stage == to
        )
    )


def checklist(session: Session, from_stage: Stage, to: Stage) -> tuple[list[Item], bool]:
    """The items in force for the transition and whether they are the defaults."""
    row = stored_checklist(session, from_stage, to)
    if row is None:
        return list(default_items(from_stage, to)), True
    return parse_items(row.items), False


def _entries(session: Session, account_ids: Iterable[int] | None) -> list[Entered]:
    query = select(Event.id, Event.subject_id, Event.type, Event.at, Event.data).where(
        Event.subject_type == "account", Event.type.in_(STAGE_EVENTS)
    )
    if account_ids is not None:
        query = query.where(Event.subject_id.in_(list(account_ids)))
    out = []
    for event_id, account_id, type_, at, data in session.execute(query):
        data = data or {}
        stage = data.get("stage") if type_ == "account_created" else data.get("to")
        if stage not in STAGE_VALUES:
            continue
        on = data.get("stage_since") if type_ == "account_created" else data.get("on")
        try:
            day = date.fromisoformat(on) if isinstance(on, str) else at.date()
        except ValueError:
            day = at.date()
        out.append(Entered(int(account_id), Stage(stage), day, int(event_id)))
    return out


def histories(session: Session, account_ids: Iterable[int] | None = None) -> dict[int, list[Spell]]:
    return spells(_entries(session, account_ids))


def account_lifecycle(session: Session, account: Account, today: date) -> tuple[list[Spell], AccountTiming]:
    history = histories(session, [account.id]).get(account.id, [])
    return history, account_timing(account.id, history, today)


@dataclass(frozen=True)
class AccountRow:
    account_id: int
    name: str
    segment: str
    csm: str | None
    timing: AccountTiming


@dataclass(frozen=True)
class LifecycleReport:
    segments: list[SegmentTiming]
    accounts: list[AccountRow]


def lifecycle_report(
    session: Session, today: date, *, segment: str | None = None, csm_id: int | None = None
) -> LifecycleReport:
    """Time in stage and to launch per account and medians per segment, for the accounts matching the
    filters (the segment in force: a hand-named one wins over the rules)."""
    chosen = aliased(Segment)
    query = (
        select(Account.id, Account.name, chosen.name, User.name)
        .outerjoin(chosen, chosen.id == func.coalesce(Account.segment_override_id, Account.segment_id))
        .outerjoin(User, User.id == Account.owner_id)
        .order_by(Account.name, Account.id)
    )
    if csm_id is not None:
        query = query.where(Account.owner_id == csm_id)
    rows = [(int(a), n, s or UNSEGMENTED, c) for a, n, s, c in session.execute(query)]
    if segment:
        rows = [r for r in rows if r[2] == segment]
    everyone = segment is None and csm_id is None  # one read of the log, no list of thousands of ids
    all_histories = histories(session, None if everyone else [r[0] for r in rows]) if rows else {}
    accounts = [
        AccountRow(a, n, s, c, account_timing(a, all_histories.get(a, []), today)) for a, n, s, c in rows
    ]
    return LifecycleReport(segment_timing(all_histories, {r[0]: r[2] for r in rows}), accounts)


def stored_phase_owner(session: Session, account: Account, phase: Phase) -> PhaseOwner | None:
    if phase not in STORED_PHASES:
        return None
    return session.scalar(
        select(PhaseOwner).where(PhaseOwner.account_id == account.id, PhaseOwner.phase == phase)
    )
