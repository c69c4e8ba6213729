"""CSM work: /api/v1/playbooks (CRUD and POST /playbooks/run), /api/v1/tasks (mine, overdue, updates,
POST /tasks/{id}/email to approve and send a playbook email),
/api/v1/success-plans with objectives, /api/v1/escalations with their timeline, /api/v1/nps-responses and
/api/v1/feedback with GET /feedback/ranking."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import access
from opsdesk.success import queries as success_queries
from opsdesk.success.models import Account, Contact
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
from opsdesk.success.voice import actions as voice_actions
from opsdesk.success.voice import queries as voice_queries
from opsdesk.success.voice.models import EscalationStatus, FeedbackRequest, RequestStatus, Severity
from opsdesk.success.voice.schemas import (
    AskIn,
    AskOut,
    EscalationIn,
    EscalationOut,
    EscalationUpdateIn,
    FeedbackIn,
    FeedbackOut,
    FeedbackUpdateIn,
    NpsIn,
    NpsOut,
    RankedAreaOut,
    RankedEscalationOut,
    RankedRequestOut,
    RankingOut,
    TimelineIn,
    TimelineOut,
)
from opsdesk.web.api.params import PathId, QueryDay, QueryId, QueryText
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["success work"])
Id = PathId


def _read(user: User) -> None:
    permissions.require(user, permissions.SUCCESS_READ)


def _write(user: User) -> None:
    permissions.require(user, permissions.SUCCESS_WRITE)


def _require_playbook_editor(user: User) -> None:
    """Playbooks create work for every CSM, so only CS leads and admins define them."""
    access.require_lead(user, "change playbooks")


def _user(session: SessionDep, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    row = session.get(User, user_id)
    if row is None:
        raise ValidationFailed(f"no user {user_id}", field=field)
    return row


def _contact(session: SessionDep, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    row = session.get(Contact, contact_id)
    if row is None:
        raise ValidationFailed(f"no contact {contact_id}", field="contact_id")
    return row


def _account(session: SessionDep, account_id: int) -> Account:
    try:
        return success_queries.account(session, account_id)
    except NotFound:
        raise ValidationFailed(f"no account {account_id}", field="account_id") from None


def _specs(session: SessionDep, templates: list[TemplateIn]) -> list[TemplateSpec]:
    return [
        TemplateSpec(
            title=t.title,
            description=t.description,
            due_offset_days=t.due_offset_days,
            owner_rule=t.owner_rule,
            owner=_user(session, t.owner_user_id, f"templates.{i}.owner_user_id"),
            email_subject=t.email_subject,
            email_body=t.email_body,
            email_needs_approval=t.email_needs_approval,
        )
        for i, t in enumerate(templates)
    ]


# --- playbooks ----------------------------------------------------------------------------------------


@router.get("/playbooks", response_model=list[PlaybookOut])
def list_playbooks(user: CurrentUser, session: SessionDep) -> list[PlaybookOut]:
    _read(user)
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
    _write(user)
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
    _read(user)
    return PlaybookOut.model_validate(playbook_queries.playbook(session, playbook_id))


@router.get("/playbooks/{playbook_id}/episodes", response_model=list[EpisodeOut])
def list_episodes(playbook_id: Id, user: CurrentUser, session: SessionDep) -> list[EpisodeOut]:
    _read(user)
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
    _read(user)
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
    _write(user)
    row = playbook_actions.create_task(
        session,
        account=_account(session, body.account_id),
        title=body.title,
        description=body.description,
        due_on=body.due_on,
        owner=_user(session, body.owner_id, "owner_id"),
        actor=user,
        clock=clock,
    )
    session.commit()
    return TaskOut.model_validate(row)


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: Id, user: CurrentUser, session: SessionDep) -> TaskOut:
    _read(user)
    return TaskOut.model_validate(playbook_queries.task(session, task_id))


@router.patch("/tasks/{task_id}", response_model=TaskOut)
def update_task(
    task_id: Id, body: TaskUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TaskOut:
    _write(user)
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
        owner=_user(session, body.owner_id, "owner_id") if "owner_id" in given else playbook_actions.UNSET,
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
    _write(user)
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
    _read(user)
    return [PlanOut.model_validate(p) for p in playbook_queries.success_plans(session, account_id=account_id)]


@router.post("/success-plans", status_code=201, response_model=PlanOut)
def create_plan(body: PlanIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> PlanOut:
    _write(user)
    row = playbook_actions.create_success_plan(
        session,
        account=_account(session, body.account_id),
        title=body.title,
        owner=_user(session, body.owner_id, "owner_id"),
        objectives=[(o.objective, o.target_date) for o in body.objectives],
        actor=user,
        clock=clock,
    )
    session.commit()
    return PlanOut.model_validate(row)


@router.get("/success-plans/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: Id, user: CurrentUser, session: SessionDep) -> PlanOut:
    _read(user)
    return PlanOut.model_validate(playbook_queries.success_plan(session, plan_id))


@router.post("/success-plans/{plan_id}/objectives", status_code=201, response_model=ObjectiveOut)
def add_objective(
    plan_id: Id, body: ObjectiveIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ObjectiveOut:
    _write(user)
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
    _write(user)
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


# --- escalations --------------------------------------------------------------------------------------


@router.get("/escalations", response_model=list[RankedEscalationOut])
def list_escalations(
    user: CurrentUser,
    session: SessionDep,
    account_id: QueryId = None,
    status: EscalationStatus | None = None,
    severity: Severity | None = None,
    ticket: QueryId = None,
    *,
    clock: ClockDep,
) -> list[RankedEscalationOut]:
    """Ranked by what is at stake: the customer's ARR today, then covered lives, then severity and age;
    each row carries its account's name, ARR (cents) and covered lives."""
    _read(user)
    ranked = voice_queries.ranked_escalations(
        session,
        today=clock.now().date(),
        account_id=account_id,
        status=status,
        severity=severity,
        ticket_number=ticket,
    )
    return [RankedEscalationOut.ranked(r) for r in ranked]


@router.post("/escalations", status_code=201, response_model=EscalationOut)
def open_escalation(
    body: EscalationIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> EscalationOut:
    _write(user)
    row = voice_actions.open_escalation(
        session,
        account=_account(session, body.account_id),
        severity=body.severity,
        title=body.title,
        owner=_user(session, body.owner_id, "owner_id"),
        executive_sponsor=_user(session, body.executive_sponsor_id, "executive_sponsor_id"),
        ticket_numbers=body.ticket_numbers,
        note=body.note,
        actor=user,
        clock=clock,
    )
    session.commit()
    return EscalationOut.of(row)


@router.get("/escalations/{escalation_id}", response_model=EscalationOut)
def get_escalation(escalation_id: Id, user: CurrentUser, session: SessionDep) -> EscalationOut:
    _read(user)
    return EscalationOut.of(voice_queries.escalation(session, escalation_id))


@router.patch("/escalations/{escalation_id}", response_model=EscalationOut)
def update_escalation(
    escalation_id: Id, body: EscalationUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> EscalationOut:
    _write(user)
    given = body.model_fields_set
    row = voice_actions.update_escalation(
        session,
        escalation=voice_queries.escalation(session, escalation_id),
        status=body.status,
        severity=body.severity,
        title=body.title,
        owner=_user(session, body.owner_id, "owner_id") if "owner_id" in given else voice_actions.UNSET,
        executive_sponsor=(
            _user(session, body.executive_sponsor_id, "executive_sponsor_id")
            if "executive_sponsor_id" in given
            else voice_actions.UNSET
        ),
        ticket_numbers=body.ticket_numbers,
        note=body.note,
        actor=user,
        clock=clock,
    )
    session.commit()
    return EscalationOut.of(row)


@router.post("/escalations/{escalation_id}/timeline", status_code=201, response_model=TimelineOut)
def add_timeline_note(
    escalation_id: Id, body: TimelineIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TimelineOut:
    _write(user)
    if body.at is not None and body.at.tzinfo is None:
        raise ValidationFailed("'at' needs a time zone", field="at")
    row = voice_actions.add_timeline_note(
        session,
        escalation=voice_queries.escalation(session, escalation_id),
        note=body.note,
        at=body.at,
        author=user,
        clock=clock,
    )
    session.commit()
    return TimelineOut.model_validate(row)


# --- NPS ----------------------------------------------------------------------------------------------


@router.post("/nps-responses", status_code=201, response_model=NpsOut)
def record_nps(body: NpsIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> NpsOut:
    _write(user)
    if body.responded_at.tzinfo is None:
        raise ValidationFailed("'responded_at' needs a time zone", field="responded_at")
    row = voice_actions.record_nps_response(
        session,
        account=_account(session, body.account_id),
        score=body.score,
        responded_at=body.responded_at,
        contact=_contact(session, body.contact_id),
        comment=body.comment,
        external_id=body.external_id,
        clock=clock,
    )
    session.commit()
    return NpsOut.model_validate(row)


@router.get("/accounts/{account_id}/nps-responses", response_model=list[NpsOut])
def list_nps(account_id: Id, user: CurrentUser, session: SessionDep) -> list[NpsOut]:
    _read(user)
    success_queries.account(session, account_id)
    return [NpsOut.model_validate(r) for r in voice_queries.nps_responses(session, account_id)]


# --- feedback -----------------------------------------------------------------------------------------


@router.get("/feedback", response_model=list[FeedbackOut])
def list_feedback(
    user: CurrentUser,
    session: SessionDep,
    product_area: QueryText = None,
    status: RequestStatus | None = None,
    account_id: QueryId = None,
) -> list[FeedbackOut]:
    _read(user)
    rows = voice_queries.requests(session, product_area=product_area, status=status, account_id=account_id)
    return [FeedbackOut.of(r) for r in rows]


@router.post("/feedback", status_code=201, response_model=FeedbackOut)
def create_feedback(body: FeedbackIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> FeedbackOut:
    _write(user)
    row = voice_actions.create_request(
        session,
        title=body.title,
        product_area_name=body.product_area,
        description=body.description,
        actor=user,
        clock=clock,
    )
    for ask in body.asks:
        _add_ask(session, row, ask, user, clock)
    session.commit()
    return FeedbackOut.of(row)


@router.get("/feedback/ranking", response_model=RankingOut)
def feedback_ranking(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    on: QueryDay = None,
    include_closed: bool = False,
) -> RankingOut:
    """Product areas and requests ranked by the ARR (on ``on``, default today) and covered lives asking."""
    _read(user)
    areas, requests = voice_queries.ranking(
        session, on=on or clock.now().date(), include_closed=include_closed
    )
    return RankingOut(
        product_areas=[RankedAreaOut(**r) for r in areas.to_dict("records")],
        requests=[RankedRequestOut(**r) for r in requests.to_dict("records")],
    )


@router.get("/feedback/{request_id}", response_model=FeedbackOut)
def get_feedback(request_id: Id, user: CurrentUser, session: SessionDep) -> FeedbackOut:
    _read(user)
    return FeedbackOut.of(voice_queries.request(session, request_id))


@router.patch("/feedback/{request_id}", response_model=FeedbackOut)
def update_feedback(
    request_id: Id, body: FeedbackUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> FeedbackOut:
    _write(user)
    row = voice_actions.update_request(
        session,
        request=voice_queries.request(session, request_id),
        title=body.title,
        description=body.description,
        product_area_name=body.product_area,
        status=body.status,
        actor=user,
        clock=clock,
    )
    session.commit()
    return FeedbackOut.of(row)


@router.delete("/feedback/{request_id}", status_code=204)
def delete_feedback(request_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    _write(user)
    voice_actions.delete_request(session, request=voice_queries.request(session, request_id))
    session.commit()
    return Response(status_code=204)


def _add_ask(
    session: SessionDep, request: FeedbackRequest, ask: AskIn, user: User, clock: ClockDep
) -> AskOut:
    row = voice_actions.add_ask(
        session,
        request=request,
        account=_account(session, ask.account_id),
        contact=_contact(session, ask.contact_id),
        ticket_number=ask.ticket_number,
        note=ask.note,
        actor=user,
        clock=clock,
    )
    return AskOut.model_validate(row)


@router.post("/feedback/{request_id}/asks", status_code=201, response_model=AskOut)
def add_ask(request_id: Id, body: AskIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> AskOut:
    _write(user)
    out = _add_ask(session, voice_queries.request(session, request_id), body, user, clock)
    session.commit()
    return out


@router.delete("/feedback/{request_id}/asks/{account_id}", status_code=204)
def remove_ask(
    request_id: Id, account_id: Id, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Response:
    _write(user)
    voice_actions.remove_ask(
        session,
        request=voice_queries.request(session, request_id),
        account=_account(session, account_id),
        clock=clock,
        actor=user,
    )
    session.commit()
    return Response(status_code=204)
