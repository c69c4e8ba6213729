"""Reads for playbooks, tasks and success plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.errors import NotFound
from opsdesk.core.queries import get_or_not_found
from opsdesk.success.playbooks.models import (
    EmailStatus,
    PlanObjective,
    Playbook,
    PlaybookEpisode,
    SuccessPlan,
    Task,
    TaskEmail,
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


def open_tasks(
    session: Session, *, owner_id: int | None, due_before: date | None = None, limit: int = 500
) -> list[Task]:
    """Open tasks, soonest due first, so the overdue lead the list (``owner_id`` None: everyone's;
    ``due_before``: only those due before that day, i.e. overdue on it)."""
    query = (
        select(Task)
        .where(Task.status == TaskStatus.OPEN)
        .options(selectinload(Task.account), selectinload(Task.owner), selectinload(Task.emails))
    )
    if owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    if due_before is not None:
        query = query.where(Task.due_on < due_before)
    return list(session.scalars(query.order_by(Task.due_on, Task.id).limit(limit)))


@dataclass(frozen=True)
class EpisodeProgress:
    """One play run on an account: why it started and how far its tasks are."""

    playbook_name: str
    reason: str
    fired_at: datetime
    tasks: list[Task]

    @property
    def done(self) -> int:
        return sum(t.status is not TaskStatus.OPEN for t in self.tasks)

    @property
    def running(self) -> bool:
        return self.done < len(self.tasks)


def account_episodes(session: Session, account_id: int, *, limit: int = 50) -> list[EpisodeProgress]:
    """The plays run on the account, running ones first, newest first within each."""
    rows = session.execute(
        select(PlaybookEpisode, Playbook.name)
        .join(Playbook, Playbook.id == PlaybookEpisode.playbook_id)
        .where(PlaybookEpisode.account_id == account_id)
        .order_by(PlaybookEpisode.fired_at.desc(), PlaybookEpisode.id.desc())
        .limit(limit)
    ).all()
    tasks_of: dict[int, list[Task]] = {}
    if rows:
        for row in session.scalars(
            select(Task)
            .where(Task.episode_id.in_([e.id for e, _name in rows]))
            .options(selectinload(Task.owner), selectinload(Task.emails))
            .order_by(Task.due_on, Task.id)
        ):
            tasks_of.setdefault(row.episode_id or 0, []).append(row)
    progress = [EpisodeProgress(name, e.reason, e.fired_at, tasks_of.get(e.id, [])) for e, name in rows]
    return sorted(progress, key=lambda p: not p.running)  # stable: newest first within each


def sent_message_ids(session: Session, account_id: int) -> list[str]:
    """The Message-IDs of the playbook emails sent to the account's people: replies quote them."""
    return [
        str(m)
        for m in session.scalars(
            select(TaskEmail.rfc_message_id).where(
                TaskEmail.account_id == account_id,
                TaskEmail.status == EmailStatus.SENT,
                TaskEmail.rfc_message_id.is_not(None),
            )
        )
    ]
