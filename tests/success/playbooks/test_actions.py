"""Playbook, task and success-plan writes: validation that names the field, task status events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.success.playbooks import actions
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.models import ObjectiveStatus, OwnerRule, TaskStatus, TriggerKind
from tests.factories import make_user
from tests.success.playbooks.test_engine import book


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (TemplateSpec(title=" "), "templates.0.title"),
        (TemplateSpec(title="t", due_offset_days=-1), "templates.0.due_offset_days"),
        (TemplateSpec(title="t", owner_rule=OwnerRule.NAMED_USER), "templates.0.owner_user_id"),
        (TemplateSpec(title="t", email_subject="s"), "templates.0.email_body"),
        (TemplateSpec(title="t", email_subject="s", email_body="{nope}"), "templates.0.email_body"),
        (TemplateSpec(title="{account_name.upper}"), "templates.0.title"),
    ],
)
def test_template_validation(db: Session, clock: FixedClock, spec: TemplateSpec, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.create_playbook(
            db,
            name="P",
            trigger_kind=TriggerKind.HEALTH_RED,
            trigger_params={},
            templates=[spec],
            clock=clock,
        )
    assert caught.value.field == field


def test_playbook_names_are_unique_and_need_templates(db: Session, clock: FixedClock) -> None:
    actions.create_playbook(
        db,
        name="P",
        trigger_kind=TriggerKind.HEALTH_RED,
        trigger_params={},
        templates=[TemplateSpec("t")],
        clock=clock,
    )
    with pytest.raises(Conflict):
        actions.create_playbook(
            db,
            name="P",
            trigger_kind=TriggerKind.HEALTH_RED,
            trigger_params={},
            templates=[TemplateSpec("t")],
            clock=clock,
        )
    with pytest.raises(ValidationFailed) as caught:
        actions.create_playbook(
            db, name="Q", trigger_kind=TriggerKind.HEALTH_RED, trigger_params={}, templates=[], clock=clock
        )
    assert caught.value.field == "templates"


def test_task_status_changes_are_account_events(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    requester = make_user(db, clock, Role.REQUESTER, email="member@example.com")
    with pytest.raises(ValidationFailed):
        actions.create_task(
            db, account=account, title="x", due_on=date(2026, 3, 9), owner=requester, clock=clock
        )
    task = actions.create_task(db, account=account, title="Kick-off", due_on=date(2026, 3, 9), clock=clock)
    clock.advance(timedelta(days=1))
    actions.update_task(db, task=task, status=TaskStatus.DONE, clock=clock)
    assert task.completed_at == clock.now()
    actions.update_task(db, task=task, status=TaskStatus.OPEN, clock=clock)
    assert task.completed_at is None
    actions.update_task(db, task=task, status=TaskStatus.SKIPPED, clock=clock)
    db.flush()
    types = db.scalars(
        select(Event.type).where(Event.subject_id == account.id, Event.type.like("task_%")).order_by(Event.id)
    ).all()
    assert types == ["task_created", "task_completed", "task_reopened", "task_skipped"]


def test_success_plan_objectives(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    plan = actions.create_success_plan(
        db, account=account, title="Outcomes", clock=clock, objectives=[("Engage 30%", date(2026, 9, 30))]
    )
    assert plan.owner_id == account.owner_id
    objective = actions.add_objective(
        db, plan=plan, objective="Launch EAP", target_date=date(2026, 6, 1), clock=clock
    )
    actions.update_objective(db, objective=objective, status=ObjectiveStatus.ACHIEVED, clock=clock)
    db.flush()
    changed = db.scalars(select(Event).where(Event.type == "objective_status_changed")).all()
    assert [(e.data["from"], e.data["to"]) for e in changed] == [("not_started", "achieved")]
    with pytest.raises(ValidationFailed) as caught:
        actions.create_success_plan(
            db, account=account, title="x", clock=clock, objectives=[(" ", date(2026, 1, 1))]
        )
    assert caught.value.field == "objectives.0.objective"
