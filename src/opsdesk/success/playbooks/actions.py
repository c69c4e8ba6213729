"""Writes for playbooks, tasks and success plans. Each runs in the caller's transaction (flush, never
commit) and appends its account events there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.success.models import Account
from opsdesk.success.playbooks.drafts import check_template
from opsdesk.success.playbooks.models import (
    ObjectiveStatus,
    OwnerRule,
    PlanObjective,
    Playbook,
    SuccessPlan,
    Task,
    TaskStatus,
    TaskTemplate,
    TriggerKind,
)
from opsdesk.success.playbooks.triggers import validate_params


@dataclass(frozen=True)
class TemplateSpec:
    title: str
    due_offset_days: int = 0
    owner_rule: OwnerRule = OwnerRule.ACCOUNT_CSM
    owner: User | None = None
    description: str = ""
    email_subject: str | None = None
    email_body: str | None = None
    # Nothing reaches a customer unless the playbook says so: by default the CSM approves each email.
    email_needs_approval: bool = True


def _templates(specs: Sequence[TemplateSpec]) -> list[TaskTemplate]:
    if not specs:
        raise ValidationFailed("a playbook needs at least one task template", field="templates")
    rows = []
    for position, spec in enumerate(specs):
        where = f"templates.{position}"
        if not spec.title.strip():
            raise ValidationFailed("a task template needs a title", field=f"{where}.title")
        if not 0 <= spec.due_offset_days <= 365:
            raise ValidationFailed("due offset must be 0-365 days", field=f"{where}.due_offset_days")
        if (spec.owner_rule is OwnerRule.NAMED_USER) != (spec.owner is not None):
            raise ValidationFailed(
                "name an owner exactly when the owner rule is named_user", field=f"{where}.owner_user_id"
            )
        if spec.owner is not None and (not spec.owner.is_staff or not spec.owner.active):
            raise ValidationFailed(
                "a task owner must be an active staff user", field=f"{where}.owner_user_id"
            )
        if (spec.email_subject is None) != (spec.email_body is None):
            raise ValidationFailed(
                "an email template needs both subject and body", field=f"{where}.email_body"
            )
        for name in ("email_subject", "email_body", "title", "description"):
            text = getattr(spec, name)
            if text is not None:
                check_template(text, f"{where}.{name}")
        rows.append(
            TaskTemplate(
                position=position,
                title=spec.title.strip(),
                description=spec.description,
                due_offset_days=spec.due_offset_days,
                owner_rule=spec.owner_rule,
                owner_user=spec.owner,
                email_subject=spec.email_subject,
                email_body=spec.email_body,
                email_needs_approval=spec.email_needs_approval,
            )
        )
    return rows


def create_playbook(
    session: Session,
    *,
    name: str,
    trigger_kind: TriggerKind,
    trigger_params: dict[str, Any],
    templates: Sequence[TemplateSpec],
    clock: Clock,
    description: str = "",
    active: bool = True,
) -> Playbook:
    name = name.strip()
    if not name:
        raise ValidationFailed("a playbook needs a name", field="name")
    if session.scalar(select(Playbook.id).where(Playbook.name == name)) is not None:
        raise Conflict(f"a playbook named {name!r} already exists", field="name")
    now = clock.now()
    playbook = Playbook(
        name=name,
        description=description,
        trigger_kind=trigger_kind,
        trigger_params=validate_params(trigger_kind, trigger_params),
        active=active,
        created_at=now,
        updated_at=now,
        templates=_templates(templates),
    )
    session.add(playbook)
    session.flush()
    return playbook


def update_playbook(
    session: Session,
    *,
    playbook: Playbook,
    clock: Clock,
    name: str | None = None,
    description: str | None = None,
    trigger_params: dict[str, Any] | None = None,
    templates: Sequence[TemplateSpec] | None = None,
    active: bool | None = None,
) -> Playbook:
    """Change a playbook. Its trigger kind is fixed (a different trigger is a different playbook); the
    episodes already fired stay fired, and new templates apply to episodes fired from now on."""
    if name is not None and name.strip() != playbook.name:
        if not name.strip():
            raise ValidationFailed("a playbook needs a name", field="name")
        if session.scalar(select(Playbook.id).where(Playbook.name == name.strip())) is not None:
            raise Conflict(f"a playbook named {name.strip()!r} already exists", field="name")
        playbook.name = name.strip()
    if description is not None:
        playbook.description = description
    if trigger_params is not None:
        playbook.trigger_params = validate_params(playbook.trigger_kind, trigger_params)
    if templates is not None:
        playbook.templates = _templates(templates)
    if active is not None:
        playbook.active = active
    playbook.updated_at = clock.now()
    session.flush()
    return playbook


def delete_playbook(session: Session, *, playbook: Playbook) -> None:
    """Remove a playbook and its fired episodes; the tasks it created stay, no longer linked to it."""
    session.delete(playbook)
    session.flush()


# --- tasks --------------------------------------------------------------------------------------------


def _task_event(session: Session, task: Task, type: str, clock: Clock, actor: User | None) -> None:
    append_event(
        session,
        subject_type="account",
        subject_id=task.account_id,
        type=type,
        at=clock.now(),
        actor=actor,
        data={"task_id": task.id, "playbook_id": task.playbook_id, "title": task.title},
    )


def _check_owner(owner: User | None) -> None:
    if owner is not None and (not owner.is_staff or not owner.active):
        raise ValidationFailed("a task owner must be an active staff user", field="owner_id")


def create_task(
    session: Session,
    *,
    account: Account,
    title: str,
    due_on: date,
    clock: Clock,
    owner: User | None = None,
    description: str = "",
    actor: User | None = None,
) -> Task:
    """A task added by hand rather than by a playbook."""
    if not title.strip():
        raise ValidationFailed("a task needs a title", field="title")
    _check_owner(owner)
    now = clock.now()
    task = Task(
        account_id=account.id,
        title=title.strip(),
        description=description,
        due_on=due_on,
        owner_id=owner.id if owner else None,
        status=TaskStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    _task_event(session, task, "task_created", clock, actor)
    return task


UNSET: Any = object()


def update_task(
    session: Session,
    *,
    task: Task,
    clock: Clock,
    actor: User | None = None,
    status: TaskStatus | None = None,
    due_on: date | None = None,
    owner: User | None = UNSET,
    title: str | None = None,
    description: str | None = None,
    email_subject: str | None = None,
    email_body: str | None = None,
) -> Task:
    """Edit a task. Completing it records ``completed_at`` and a task_completed event; skipping records
    task_skipped; reopening clears ``completed_at`` and records task_reopened."""
    if title is not None:
        if not title.strip():
            raise ValidationFailed("a task needs a title", field="title")
        task.title = title.strip()
    if description is not None:
        task.description = description
    if due_on is not None:
        task.due_on = due_on
    if owner is not UNSET:
        _check_owner(owner)
        task.owner_id = owner.id if owner is not None else None
    if email_subject is not None:
        task.email_subject = email_subject
    if email_body is not None:
        task.email_body = email_body
    task.updated_at = clock.now()
    if status is not None and status is not task.status:
        task.status = status
        task.completed_at = clock.now() if status is TaskStatus.DONE else None
        session.flush()
        kind = {TaskStatus.DONE: "task_completed", TaskStatus.SKIPPED: "task_skipped"}.get(
            status, "task_reopened"
        )
        _task_event(session, task, kind, clock, actor)
    session.flush()
    return task


# --- success plans ------------------------------------------------------------------------------------


def create_success_plan(
    session: Session,
    *,
    account: Account,
    title: str,
    clock: Clock,
    owner: User | None = None,
    objectives: Sequence[tuple[str, date]] = (),
    actor: User | None = None,
) -> SuccessPlan:
    if not title.strip():
        raise ValidationFailed("a success plan needs a title", field="title")
    _check_owner(owner)
    now = clock.now()
    plan = SuccessPlan(
        account_id=account.id,
        title=title.strip(),
        owner_id=owner.id if owner else account.owner_id,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    for index, (text, target) in enumerate(objectives):
        plan.objectives.append(_objective(text, target, now, field=f"objectives.{index}.objective"))
    session.flush()
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="success_plan_created",
        at=now,
        actor=actor,
        data={"plan_id": plan.id, "objectives": len(plan.objectives)},
    )
    return plan


def _objective(text: str, target: date, now: Any, *, field: str) -> PlanObjective:
    if not text.strip():
        raise ValidationFailed("an objective needs a description", field=field)
    return PlanObjective(
        objective=text.strip(),
        target_date=target,
        status=ObjectiveStatus.NOT_STARTED,
        created_at=now,
        updated_at=now,
    )


def add_objective(
    session: Session, *, plan: SuccessPlan, objective: str, target_date: date, clock: Clock
) -> PlanObjective:
    row = _objective(objective, target_date, clock.now(), field="objective")
    plan.objectives.append(row)
    plan.updated_at = clock.now()
    session.flush()
    return row


def update_objective(
    session: Session,
    *,
    objective: PlanObjective,
    clock: Clock,
    actor: User | None = None,
    status: ObjectiveStatus | None = None,
    target_date: date | None = None,
    text: str | None = None,
) -> PlanObjective:
    """Edit an objective; a status change is an account event so plan progress has a history."""
    if text is not None:
        if not text.strip():
            raise ValidationFailed("an objective needs a description", field="objective")
        objective.objective = text.strip()
    if target_date is not None:
        objective.target_date = target_date
    objective.updated_at = clock.now()
    if status is not None and status is not objective.status:
        previous, objective.status = objective.status, status
        append_event(
            session,
            subject_type="account",
            subject_id=objective.plan.account_id,
            type="objective_status_changed",
            at=clock.now(),
            actor=actor,
            data={"objective_id": objective.id, "from": previous.value, "to": status.value},
        )
    session.flush()
    return objective
