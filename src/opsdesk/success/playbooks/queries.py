"""Reads for playbooks, tasks and success plans."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import NotFound
from opsdesk.core.queries import get_or_not_found
from opsdesk.success.playbooks.models import (
    PlanObjective,
    Playbook,
    PlaybookEpisode,
    SuccessPlan,
    Task,
    TaskStatus,
)


def playbook(session: Session, playbook_id: int) -> Playbook:
    return get_or_not_found(session, Playbook, playbook_id, "playbook")


def playbooks(session: Session) -> list[Playbook]:
    return list(session.scalars(select(Playbook).order_by(Playbook.name)))


def episodes(session: Session, playbook_id: int) -> list[PlaybookEpisode]:
    return list(
        session.scalars(
            select(PlaybookEpisode)
            .where(PlaybookEpisode.playbook_id == playbook_id)
            .order_by(PlaybookEpisode.fired_at, PlaybookEpisode.id)
        )
    )


def task(session: Session, task_id: int) -> Task:
    return get_or_not_found(session, Task, task_id, "task")


def tasks(
    session: Session,
    *,
    owner_id: int | None = None,
    account_id: int | None = None,
    status: TaskStatus | None = None,
    overdue_on: date | None = None,
    limit: int = 500,
) -> list[Task]:
    """Soonest due first. ``overdue_on`` keeps the open tasks due before that day."""
    query = select(Task)
    if owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    if account_id is not None:
        query = query.where(Task.account_id == account_id)
    if status is not None:
        query = query.where(Task.status == status)
    if overdue_on is not None:
        query = query.where(Task.status == TaskStatus.OPEN, Task.due_on < overdue_on)
    return list(session.scalars(query.order_by(Task.due_on, Task.id).limit(limit)))


def success_plan(session: Session, plan_id: int) -> SuccessPlan:
    return get_or_not_found(session, SuccessPlan, plan_id, "success plan")


def success_plans(session: Session, *, account_id: int | None = None) -> list[SuccessPlan]:
    query = select(SuccessPlan)
    if account_id is not None:
        query = query.where(SuccessPlan.account_id == account_id)
    return list(session.scalars(query.order_by(SuccessPlan.id)))


def objective(session: Session, plan: SuccessPlan, objective_id: int) -> PlanObjective:
    row = session.get(PlanObjective, objective_id)
    if row is None or row.plan_id != plan.id:
        raise NotFound(f"no objective {objective_id} in success plan {plan.id}")
    return row
