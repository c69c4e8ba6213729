"""CSM work: /api/v1/playbooks (CRUD and POST /playbooks/run), /api/v1/tasks (mine, overdue, updates,
POST /tasks/{id}/email to approve and send a playbook email) and /api/v1/success-plans with objectives.
The voice of the customer (escalations, NPS, feedback) is ``success_voice``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import access
from opsdesk.success.playbooks import actions as playbook_actions
from opsdesk.success.playbooks import engine
from opsdesk.success.playbooks import queries as playbook_queries
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.emails import queue_email
from opsdesk.success.playbooks.models import TaskStatus
from opsdesk.success.playbooks.schemas import (
    EpisodeOut,
    ObjectiveIn,
    ObjectiveOut,
    ObjectiveUpdateIn,
    PlanIn,
    PlanOut,
    PlaybookIn,
    PlaybookOut,
    PlaybookUpdateIn,
    RunIn,
    RunOut,
    TaskEmailIn,
    TaskEmailOut,
    TaskIn,
    TaskOut,
    TaskUpdateIn,
    TemplateIn,
)
from opsdesk.web.api.params import PathId, QueryId
from opsdesk.web.api.success_refs import account_ref, require_read, require_write, user_ref
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["success work"])
Id = PathId


def _require_playbook_editor(user: User) -> None:
    """Playbooks create work for every CSM, so only CS leads and admins define them."""
    access.require_lead(user, "change playbooks")


def _specs(session: SessionDep, templates: list[TemplateIn]) -> list[TemplateSpec]:
    return [
        TemplateSpec(
            title=t.title,
            description=t.description,
            due_offset_days=t.due_offset_days,
            owner_rule=t.owner_rule,
            owner=user_ref(session, t.owner_user_id, f"templates.{i}.owner_user_id"),
            email_subject=t.email_subject,
            email_body=t.email_body,
            email_needs_approval=t.email_needs_approval,
        )
        for i, t in enumerate(templates)
    ]


# --- playbooks ----------------------------------------------------------------------------------------


@router.get("/playbooks", response_model=list[PlaybookOut])
def list_playbooks(user: CurrentUser, session: SessionDep) -> list[PlaybookOut]:
    require_read(user)
    return [PlaybookOut.model_validate(p) for p in playbook_queries.playbooks(session)]


@router.post("/playbooks", status_code=201, response_model=PlaybookOut)
def create_playbook(body: PlaybookIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> PlaybookOut:
    _require_playbook_editor(user)
    row = playbook_actions.create_playbook(
        session,
        name=body.name,
        description=body.description,
        trigger_kind=body.trigger_kind,
        trigger_params=body.trigger_params,
        templates=_specs(session, body.templates),
        active=body.active,
        clock=clock,
    )
    session.commit()
    return PlaybookOut.model_validate(row)


@router.post("/playbooks/run", response_model=RunOut)
def run_playbooks(body: RunIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> RunOut:
    """Fire every episode under way; safe to repeat, since an episode fires once."""
    require_write(user)
    now = body.now or clock.now()
    if now.tzinfo is None:
        raise ValidationFailed("'now' needs a time zone (e.g. 2026-03-02T09:00:00Z)", field="now")
    if now > clock.now():
        raise ValidationFailed("playbooks cannot be run for a future moment", field="now")
    result = engine.run_playbooks(session, now=now, playbook_ids=body.playbook_ids)
    session.commit()
    return RunOut(
        now=now,
        fired=result.fired,
        tasks_created=result.tasks_created,
        lost_races=result.lost_races,
        by_playbook=result.by_playbook,
    )


@router.get("/playbooks/{playbook_id}", response_model=PlaybookOut)
def get_playbook(playbook_id: Id, user: CurrentUser, session: SessionDep) -> PlaybookOut:
    require_read(user)
    return PlaybookOut.model_validate(playbook_queries.playbook(session, playbook_id))


@router.get("/playbooks/{playbook_id}/episodes", response_model=list[EpisodeOut])
def list_episodes(playbook_id: Id, user: CurrentUser, session: SessionDep) -> list[EpisodeOut]:
    require_read(user)
    playbook_queries.playbook(session, playbook_id)
    return [EpisodeOut.model_validate(e) for e in playbook_queries.episodes(session, playbook_id)]


@router.patch("/playbooks/{playbook_id}", response_model=PlaybookOut)
def update_playbook(
    playbook_id: Id, body: PlaybookUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> PlaybookOut:
    _require_playbook_editor(user)
    row = playbook_actions.update_playbook(
        session,
        playbook=playbook_queries.playbook(session, playbook_id),
        name=body.name,
        description=body.description,
        trigger_params=body.trigger_params,
        templates=_specs(session, body.templates) if body.templates is not None else None,
        active=body.active,
        clock=clock,
    )
    session.commit()
    return PlaybookOut.model_validate(row)


@router.delete("/playbooks/{playbook_id}", status_code=204)
def delete_playbook(playbook_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    _require_playbook_editor(user)
    playbook_actions.delete_playbook(session, playbook=playbook_queries.playbook(session, playbook_id))
    session.commit()
    return Response(status_code=204)


# --- tasks --------------------------------------------------------------------------------------------


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    mine: bool = False,
    overdue: bool = False,
    account_id: QueryId = None,
    status: TaskStatus | None = None,
) -> list[TaskOut]:
    require_read(user)
    rows = playbook_queries.tasks(
        session,
        owner_id=user.id if mine else None,
        account_id=account_id,
        status=status,
        overdue_on=clock.now().date() if overdue else None,
    )
    return [TaskOut.model_validate(t) for t in rows]


@router.post("/tasks", status_code=201, response_model=TaskOut)
def create_task(body: TaskIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> TaskOut:
    require_write(user)
    row = playbook_actions.create_task(
        session,
        account=account_ref(session, body.account_id),
        title=body.title,
        description=body.description,
        due_on=body.due_on,
        owner=user_ref(session, body.owner_id, "owner_id"),
        actor=user,
        clock=clock,
    )
    session.commit()
    return TaskOut.model_validate(row)


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: Id, user: CurrentUser, session: SessionDep) -> TaskOut:
    require_read(user)
    return TaskOut.model_validate(playbook_queries.task(session, task_id))


@router.patch("/tasks/{task_id}", response_model=TaskOut)
def update_task(
    task_id: Id, body: TaskUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TaskOut:
    require_write(user)
    given = body.model_fields_set
    row = playbook_actions.update_task(
        session,
        task=playbook_queries.task(session, task_id),
        status=body.status,
        due_on=body.due_on,
        title=body.title,
        description=body.description,
        email_subject=body.email_subject,
        email_body=body.email_body,
        owner=user_ref(session, body.owner_id, "owner_id") if "owner_id" in given else playbook_actions.UNSET,
        actor=user,
        clock=clock,
    )
    session.commit()
    return TaskOut.model_validate(row)


@router.post("/tasks/{task_id}/email", status_code=201, response_model=TaskEmailOut)
def send_task_email(
    task_id: Id, body: TaskEmailIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TaskEmailOut:
    """Approve and send the task's playbook email (the account's CSM, the task's owner or a CS lead)."""
    require_write(user)
    task = playbook_queries.task(session, task_id)
    access.require_work_task(user, task)
    row = queue_email(
        session, task=task, clock=clock, actor=user, to=body.to, subject=body.subject, body=body.body
    )
    session.commit()
    return TaskEmailOut.model_validate(row)


# --- success plans ------------------------------------------------------------------------------------


@router.get("/success-plans", response_model=list[PlanOut])
def list_plans(user: CurrentUser, session: SessionDep, account_id: QueryId = None) -> list[PlanOut]:
    require_read(user)
    return [PlanOut.model_validate(p) for p in playbook_queries.success_plans(session, account_id=account_id)]


@router.post("/success-plans", status_code=201, response_model=PlanOut)
def create_plan(body: PlanIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> PlanOut:
    require_write(user)
    row = playbook_actions.create_success_plan(
        session,
        account=account_ref(session, body.account_id),
        title=body.title,
        owner=user_ref(session, body.owner_id, "owner_id"),
        objectives=[(o.objective, o.target_date) for o in body.objectives],
        actor=user,
        clock=clock,
    )
    session.commit()
    return PlanOut.model_validate(row)


@router.get("/success-plans/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: Id, user: CurrentUser, session: SessionDep) -> PlanOut:
    require_read(user)
    return PlanOut.model_validate(playbook_queries.success_plan(session, plan_id))


@router.post("/success-plans/{plan_id}/objectives", status_code=201, response_model=ObjectiveOut)
def add_objective(
    plan_id: Id, body: ObjectiveIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ObjectiveOut:
    require_write(user)
    row = playbook_actions.add_objective(
        session,
        plan=playbook_queries.success_plan(session, plan_id),
        objective=body.objective,
        target_date=body.target_date,
        clock=clock,
    )
    session.commit()
    return ObjectiveOut.model_validate(row)


@router.patch("/success-plans/{plan_id}/objectives/{objective_id}", response_model=ObjectiveOut)
def update_objective(
    plan_id: Id,
    objective_id: Id,
    body: ObjectiveUpdateIn,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> ObjectiveOut:
    require_write(user)
    plan = playbook_queries.success_plan(session, plan_id)
    row = playbook_actions.update_objective(
        session,
        objective=playbook_queries.objective(session, plan, objective_id),
        status=body.status,
        target_date=body.target_date,
        text=body.objective,
        actor=user,
        clock=clock,
    )
    session.commit()
    return ObjectiveOut.model_validate(row)
