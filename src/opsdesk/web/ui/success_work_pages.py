"""CSM work pages: My tasks, the overdue tasks (a lead's whole team), one task with its playbook email to
approve and send, and the playbooks with their steps, started on an account from here or from the
account's page. Thin: each route reads through the success queries, checks the book it touches
(``success.access``) and calls one success action."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import access
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks import actions, engine
from opsdesk.success.playbooks import queries as playbook_queries
from opsdesk.success.playbooks.emails import live_email, queue_email
from opsdesk.success.playbooks.models import Playbook, Task, TaskStatus
from opsdesk.web.api.params import FormBlankOrId, FormLine, FormText, PathId
from opsdesk.web.deps import ClockDep, SessionDep, SettingsDep
from opsdesk.web.ui import zones
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)


def viewer_today(request: Request, user: User, clock: ClockDep) -> date:
    """Today where the reader is: a task due today is not overdue in Manila's evening yet in Dublin."""
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    return clock.now().astimezone(zone).date()


def back_to(target: str, default: str) -> str:
    """Where a form returns to: a path on this site only (never ``//elsewhere`` or ``/\\elsewhere``,
    which browsers read as another host)."""
    return target if target[:1] == "/" and target[1:2] not in ("/", "\\") else default


def _task(session: Session, user: User, task_id: int) -> Task:
    """The task, or 404 for one outside the reader's book (as a ticket outside one's reach)."""
    row = playbook_queries.task(session, task_id)
    if not access.may_see_task(user, row):
        raise NotFound(f"no task {task_id}")
    return row


def workable_accounts(session: Session, user: User) -> list[Account]:
    """The live accounts a CSM (their own) or a lead (all) may start a play on."""
    query = select(Account).where(Account.stage != Stage.CHURNED).order_by(Account.name)
    if user.role not in access.LEADS:
        query = query.where(Account.owner_id == user.id)
    return list(session.scalars(query))


@router.get("/tasks")
def my_tasks(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    today = viewer_today(request, user, clock)
    return page(
        request,
        "success/tasks.html",
        user,
        title="My tasks",
        tasks=playbook_queries.open_tasks(session, owner_id=user.id),
        today=today,
        team=False,
        back="/tasks",
        live_email=live_email,
        may_work=lambda task: access.may_work_task(user, task),
    )


@router.get("/tasks/overdue")
def overdue_tasks(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    """A lead's view of every overdue task, by owner; a CSM sees their own."""
    permissions.require(user, permissions.SUCCESS_READ)
    today = viewer_today(request, user, clock)
    team = access.sees_every_book(user)
    rows = playbook_queries.open_tasks(session, owner_id=None if team else user.id, due_before=today)
    rows.sort(key=lambda t: ((t.owner.name if t.owner else "~unassigned").casefold(), t.due_on, t.id))
    return page(
        request,
        "success/tasks.html",
        user,
        title="Overdue tasks",
        tasks=rows,
        today=today,
        team=team,
        back="/tasks/overdue",
        live_email=live_email,
        may_work=lambda task: access.may_work_task(user, task),
    )


def _task_view(
    request: Request,
    user: User,
    row: Task,
    clock: ClockDep,
    settings: SettingsDep,
    *,
    refused: ValidationFailed | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """The task page; a refused email comes back in its form as typed, the reason beside its field."""
    return page(
        request,
        "success/task.html",
        user,
        status_code=422 if refused else 200,
        task=row,
        email=live_email(row),
        may_work=access.may_work_task(user, row),
        today=viewer_today(request, user, clock),
        mail_configured=bool(settings.smtp_url),
        error=refused.message if refused else "",
        error_field=refused.field if refused else "",
        typed=typed or {},
    )


@router.get("/tasks/{task_id}")
def task_page(
    task_id: PathId,
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    return _task_view(request, user, _task(session, user, task_id), clock, settings)


@router.post("/tasks/{task_id}/complete")
def complete_task(
    task_id: PathId, user: FormUser, session: SessionDep, clock: ClockDep, next: FormLine = ""
) -> Response:
    permissions.require(user, permissions.SUCCESS_WRITE)
    row = _task(session, user, task_id)
    access.require_work_task(user, row)
    actions.update_task(session, task=row, status=TaskStatus.DONE, actor=user, clock=clock)
    session.commit()
    return RedirectResponse(back_to(next, "/tasks"), status_code=303)


@router.post("/tasks/{task_id}/email")
def send_task_email(
    task_id: PathId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    email_to: FormLine = "",
    email_subject: FormLine = "",
    email_body: FormText = "",
) -> Response:
    """Approve (and so send) the task's email as edited on the page."""
    permissions.require(user, permissions.SUCCESS_WRITE)
    row = _task(session, user, task_id)
    access.require_work_task(user, row)
    body = email_body.replace("\r\n", "\n")
    try:
        queue_email(session, task=row, clock=clock, actor=user, to=email_to, subject=email_subject, body=body)
    except ValidationFailed as refused:
        session.rollback()
        typed = {"email_to": email_to, "email_subject": email_subject, "email_body": body}
        return _task_view(
            request, user, _task(session, user, task_id), clock, settings, refused=refused, typed=typed
        )
    session.commit()
    return RedirectResponse(f"/tasks/{row.id}", status_code=303)


def _trigger_text(playbook: Playbook) -> str:
    params = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(playbook.trigger_params.items()))
    kind = playbook.trigger_kind.value.replace("_", " ")
    return f"{kind} ({params})" if params else kind


@router.get("/playbooks")
def playbooks_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.SUCCESS_READ)
    books: list[Any] = (
        workable_accounts(session, user) if permissions.has(user, permissions.SUCCESS_WRITE) else []
    )
    return page(
        request,
        "success/playbooks.html",
        user,
        playbooks=playbook_queries.playbooks(session),
        trigger_text=_trigger_text,
        accounts=books,
        may_edit=permissions.has(user, permissions.SUCCESS_WRITE) and user.role in access.LEADS,
    )


@router.post("/playbooks/start")
def start_playbook(
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    playbook_id: FormBlankOrId,
    account_id: FormBlankOrId,
) -> Response:
    """Start a play on a customer by hand, from the playbooks page or the account's page."""
    permissions.require(user, permissions.SUCCESS_WRITE)
    if not playbook_id:
        raise ValidationFailed("choose the playbook to start", field="playbook_id")
    if not account_id:
        raise ValidationFailed("choose the account to start the playbook on", field="account_id")
    playbook = session.get(Playbook, int(playbook_id))
    if playbook is None:
        raise ValidationFailed(f"no playbook {playbook_id}", field="playbook_id")
    account = session.get(Account, int(account_id))
    if account is None:
        raise ValidationFailed(f"no account {account_id}", field="account_id")
    access.require_work(user, account)
    engine.start_playbook(session, playbook=playbook, account=account, actor=user, now=clock.now())
    session.commit()
    return RedirectResponse(f"/customers/{account.id}#playbooks", status_code=303)
