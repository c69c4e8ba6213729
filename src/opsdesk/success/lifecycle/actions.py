"""Lifecycle writes: naming the owner of a phase, configuring a transition's hand-off checklist, and the
hand-off itself (the stage change, its checklist answers and the next owner's tasks, in one
transaction). Each runs in the caller's transaction and appends its events there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.success import actions as success_actions
from opsdesk.success.lifecycle import queries
from opsdesk.success.lifecycle.handoff import answer, parse_items, tasks
from opsdesk.success.lifecycle.models import HandoffChecklist, PhaseOwner
from opsdesk.success.lifecycle.phases import PHASE_LABELS, STORED_PHASES, Phase
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks import actions as task_actions
from opsdesk.success.playbooks.models import Task

MAX_NOTE = 2000
CHECKLIST_EDITORS = (Role.ADMIN, Role.CS_LEAD)


def may_edit_checklists(user: User) -> bool:
    """A checklist applies to every account's hand-offs, so only CS leads and admins change it."""
    return permissions.has(user, permissions.SUCCESS_WRITE) and user.role in CHECKLIST_EDITORS


def require_checklist_editor(user: User) -> None:
    if not may_edit_checklists(user):
        raise PermissionDenied("only a CS lead or an admin may change hand-off checklists")


def set_phase_owner(
    session: Session,
    *,
    account: Account,
    phase: Phase,
    user: User | None,
    clock: Clock,
    actor: User | None = None,
) -> None:
    """Name (or clear, with None) who owns a phase; the post-launch owner is the CSM, changed on the
    account itself."""
    if phase not in STORED_PHASES:
        raise ValidationFailed("the post-launch owner is the account's CSM; change the CSM", field="phase")
    if user is not None and not (user.active and permissions.has(user, permissions.SUCCESS_WRITE)):
        raise ValidationFailed(
            f"{user.email} cannot own a phase: not an active customer-success user", field=phase.value
        )
    row = queries.stored_phase_owner(session, account, phase)
    before = row.user_id if row is not None else None
    after = user.id if user is not None else None
    if before == after:
        return
    if user is None:
        session.delete(row)
    elif row is None:
        session.add(PhaseOwner(account_id=account.id, phase=phase, user_id=user.id, updated_at=clock.now()))
    else:
        row.user_id, row.updated_at = user.id, clock.now()
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="phase_owner_changed",
        at=clock.now(),
        actor=actor,
        data={"phase": phase.value, "role": PHASE_LABELS[phase], "from_user_id": before, "to_user_id": after},
    )


def save_checklist(
    session: Session,
    *,
    from_stage: Stage,
    to: Stage,
    items: Sequence[Mapping[str, Any]] | None,
    clock: Clock,
    actor: User | None = None,
) -> HandoffChecklist | None:
    """Store the checklist of a transition, or (``items`` None) go back to the default."""
    if from_stage is to:
        raise ValidationFailed("a transition goes from one stage to another", field="to")
    row = queries.stored_checklist(session, from_stage, to)
    if items is None:
        if row is not None:
            session.delete(row)
            session.flush()
            _checklist_event(session, row, clock, actor, reset=True)
        return None
    parsed = [item.as_json() for item in parse_items(items)]
    if row is None:
        row = HandoffChecklist(from_stage=from_stage, to_stage=to, items=parsed, updated_at=clock.now())
        session.add(row)
    row.items, row.updated_at = parsed, clock.now()
    row.updated_by_id = actor.id if actor is not None else None
    session.flush()
    _checklist_event(session, row, clock, actor, reset=False)
    return row


def _checklist_event(
    session: Session, row: HandoffChecklist, clock: Clock, actor: User | None, *, reset: bool
) -> None:
    append_event(
        session,
        subject_type="handoff_checklist",
        subject_id=row.id,
        type="handoff_checklist_reset" if reset else "handoff_checklist_saved",
        at=clock.now(),
        actor=actor,
        data={"from": row.from_stage.value, "to": row.to_stage.value, "items": [] if reset else row.items},
    )


@dataclass(frozen=True)
class HandOff:
    from_stage: Stage
    to: Stage
    on: date
    next_owner: User | None
    tasks: list[Task]
    answers: list[dict[str, Any]]


def hand_off(
    session: Session,
    *,
    account: Account,
    to: Stage,
    on: date,
    checked: set[int],
    clock: Clock,
    actor: User | None = None,
    note: str = "",
) -> HandOff:
    """Move the account to ``to`` with the transition's checklist answered (``checked``: the indexes of
    the ticked checks; refused while a required one is not), and give the next phase's owner the
    transition's tasks, due counted from today (a change dated in the past still needs its work
    done). The stage change and the answered checklist are events."""
    previous = account.stage
    if to is previous:
        raise ValidationFailed(f"the account is already in {to.value}", field="to")
    if on < account.stage_since:
        raise ValidationFailed(
            f"the account has been in {previous.value} since {account.stage_since}: date the change on or "
            "after that day",
            field="on",
        )
    if len(note) > MAX_NOTE:
        raise ValidationFailed(f"the note is at most {MAX_NOTE} characters", field="note")
    items, _default = queries.checklist(session, previous, to)
    answers = answer(items, checked)
    success_actions.change_stage(session, account=account, to=to, on=on, clock=clock, actor=actor)
    next_owner = queries.owner_for_stage(session, account, to)
    today = clock.now().date()
    handed = f"Hand-off {previous.value} → {to.value}" + (f" from {actor.name}" if actor is not None else "")
    created = [
        task_actions.create_task(
            session,
            account=account,
            title=item.text,
            due_on=today + timedelta(days=item.due_days),
            owner=next_owner,
            description=f"{handed}." + (f"\n\n{note.strip()}" if note.strip() else ""),
            clock=clock,
            actor=actor,
        )
        for item in tasks(items)
    ]
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="handoff_completed",
        at=clock.now(),
        actor=actor,
        data={
            "from": previous.value,
            "to": to.value,
            "on": on.isoformat(),
            "checklist": answers,
            "note": note.strip(),
            "next_owner_id": next_owner.id if next_owner is not None else None,
            "task_ids": [t.id for t in created],
        },
    )
    return HandOff(previous, to, on, next_owner, created, answers)
