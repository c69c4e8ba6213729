"""The playbook editor, beside the playbooks page: CS leads and admins create a playbook (its trigger
and its steps) and edit one (name, description, trigger parameters, steps, paused or running), as the
API does. Steps are rows of a form; a row with a blank title is left out, so clearing a row removes the
step and the empty row at the end adds one. A refused form comes back as typed, with the reason."""

from __future__ import annotations

from itertools import zip_longest
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.bounds import no_nul
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.core.queries import get_or_not_found
from opsdesk.success import access
from opsdesk.success.playbooks import actions
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.models import OwnerRule, Playbook, TriggerKind
from opsdesk.success.playbooks.triggers import params_as_text, params_from_text
from opsdesk.web.api.params import FormLine, FormText
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import PageId, page

router = APIRouter(include_in_schema=False)
MAX_STEPS = 50
MAX_STEP_TEXT = 20_000


def _each_text(values: list[str]) -> list[str]:
    for value in values:
        if len(value) > MAX_STEP_TEXT:
            raise ValueError(f"a step's text is at most {MAX_STEP_TEXT:,} characters")
        no_nul(value)
    return values


# One value per step row, in the order the rows are shown.
StepValues = Annotated[list[str], Form(max_length=MAX_STEPS), AfterValidator(_each_text)]
BLANK_STEP = {
    "title": "", "due": "0", "owner": OwnerRule.ACCOUNT_CSM.value, "description": "", "subject": "",
    "body": "", "approval": "1",
}  # fmt: skip


def _owners(session: Session) -> list[User]:
    roles = (Role.CSM, Role.CS_LEAD, Role.ADMIN)
    return list(
        session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.name))
    )


def _form_of(playbook: Playbook) -> dict[str, Any]:
    steps = [
        {
            "title": t.title,
            "due": str(t.due_offset_days),
            "owner": f"user:{t.owner_user_id}" if t.owner_user_id else t.owner_rule.value,
            "description": t.description,
            "subject": t.email_subject or "",
            "body": t.email_body or "",
            "approval": "1" if t.email_needs_approval else "0",
        }
        for t in playbook.templates
    ]
    return {
        "name": playbook.name,
        "description": playbook.description,
        "trigger_kind": playbook.trigger_kind.value,
        "trigger": params_as_text(playbook.trigger_params),
        "active": "1" if playbook.active else "0",
        "steps": steps,
    }


def _editor(
    request: Request,
    user: User,
    session: Session,
    playbook: Playbook | None,
    form: dict[str, Any],
    error: ValidationFailed | Conflict | None = None,
) -> Response:
    field = (error.field or "") if error else ""
    step = field.split(".")[1] if field.startswith("templates.") and field.count(".") >= 1 else ""
    return page(
        request,
        "success/playbook_edit.html",
        user,
        status_code=422 if error else 200,
        playbook=playbook,
        form={**form, "steps": [*form["steps"], dict(BLANK_STEP)]},
        error=error.message if error else "",
        error_field=field,
        error_step=int(step) if step.isdigit() else None,
        trigger_kinds=[k.value for k in TriggerKind],
        owners=_owners(session),
        rules=[OwnerRule.ACCOUNT_CSM.value, OwnerRule.CS_LEAD.value],
    )


def _specs(session: Session, rows: list[dict[str, str]]) -> list[TemplateSpec]:
    specs = []
    for index, row in enumerate(rows):
        where = f"templates.{index}"
        due = row["due"].strip() or "0"
        if not due.lstrip("-").isdigit():
            raise ValidationFailed("due offset must be 0-365 days", field=f"{where}.due_offset_days")
        owner: User | None = None
        if row["owner"].startswith("user:"):
            user_id = row["owner"].removeprefix("user:")
            owner = session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) <= 10 else None
            if owner is None:
                raise ValidationFailed(f"no user {user_id[:12]}", field=f"{where}.owner_user_id")
            rule = OwnerRule.NAMED_USER
        elif row["owner"] in (OwnerRule.ACCOUNT_CSM.value, OwnerRule.CS_LEAD.value):
            rule = OwnerRule(row["owner"])
        else:
            raise ValidationFailed("choose who owns the step", field=f"{where}.owner_rule")
        has_email = bool(row["subject"].strip() or row["body"].strip())
        specs.append(
            TemplateSpec(
                title=row["title"][:200],
                due_offset_days=int(due[:6]),
                owner_rule=rule,
                owner=owner,
                description=row["description"],
                email_subject=row["subject"].strip()[:300] if has_email else None,
                email_body=row["body"].replace("\r\n", "\n") if has_email else None,
                email_needs_approval=row["approval"] != "0",
            )
        )
    return specs


def _posted_steps(
    step_title: StepValues = [],  # noqa: B006 (FastAPI copies form defaults)
    step_due: StepValues = [],  # noqa: B006
    step_owner: StepValues = [],  # noqa: B006
    step_description: StepValues = [],  # noqa: B006
    step_subject: StepValues = [],  # noqa: B006
    step_body: StepValues = [],  # noqa: B006
    step_approval: StepValues = [],  # noqa: B006
) -> list[dict[str, str]]:
    """The step rows as posted (one form field per column, row by row), the blank ones (no title, no
    email) left out: a dependency shared by the new and edit forms."""
    rows = []
    for title, due, owner, description, subject, body, approval in zip_longest(
        step_title, step_due, step_owner, step_description, step_subject, step_body, step_approval,
        fillvalue="",
    ):  # fmt: skip
        row = {
            "title": title, "due": due, "owner": owner or OwnerRule.ACCOUNT_CSM.value,
            "description": description, "subject": subject, "body": body, "approval": approval or "1",
        }  # fmt: skip
        if title.strip() or subject.strip() or body.strip() or description.strip():
            rows.append(row)
    return rows


PostedSteps = Annotated[list[dict[str, str]], Depends(_posted_steps)]


@router.get("/playbooks/new")
def new_playbook_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    access.require_lead(user, "change playbooks")
    form = {
        "name": "", "description": "", "trigger_kind": TriggerKind.RENEWAL_WITHIN.value, "trigger": "days 90",
        "active": "1", "steps": [],
    }  # fmt: skip
    return _editor(request, user, session, None, form)


@router.get("/playbooks/{playbook_id}/edit")
def edit_playbook_page(
    playbook_id: PageId, request: Request, user: PageUser, session: SessionDep
) -> Response:
    access.require_lead(user, "change playbooks")
    playbook = get_or_not_found(session, Playbook, playbook_id, "playbook")
    return _editor(request, user, session, playbook, _form_of(playbook))


def _save(
    request: Request,
    user: User,
    session: Session,
    clock: ClockDep,
    playbook_id: int | None,
    form: dict[str, Any],
) -> Response:
    playbook = get_or_not_found(session, Playbook, playbook_id, "playbook") if playbook_id else None
    try:
        kind = playbook.trigger_kind.value if playbook else form["trigger_kind"]
        if kind not in {k.value for k in TriggerKind}:
            raise ValidationFailed("choose the trigger", field="trigger_kind")
        params = params_from_text(TriggerKind(kind), form["trigger"])
        specs = _specs(session, form["steps"])
        if playbook is None:
            playbook = actions.create_playbook(
                session, name=form["name"][:200], trigger_kind=TriggerKind(kind), trigger_params=params,
                templates=specs, clock=clock, description=form["description"], active=form["active"] != "0",
            )  # fmt: skip
        else:
            actions.update_playbook(
                session, playbook=playbook, clock=clock, name=form["name"][:200],
                description=form["description"], trigger_params=params, templates=specs,
                active=form["active"] != "0",
            )  # fmt: skip
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        shown = get_or_not_found(session, Playbook, playbook_id, "playbook") if playbook_id else None
        return _editor(request, user, session, shown, form, exc)
    session.commit()
    return RedirectResponse(f"/playbooks#playbook-{playbook.id}", status_code=303)


@router.post("/playbooks/new")
def post_new_playbook(
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    steps: PostedSteps,
    name: FormLine = "",
    description: FormText = "",
    trigger_kind: FormLine = "",
    trigger: FormText = "",
    active: FormLine = "1",
) -> Response:
    access.require_lead(user, "change playbooks")
    form = {
        "name": name, "description": description, "trigger_kind": trigger_kind, "trigger": trigger,
        "active": active, "steps": steps,
    }  # fmt: skip
    return _save(request, user, session, clock, None, form)


@router.post("/playbooks/{playbook_id}/edit")
def post_edit_playbook(
    playbook_id: PageId,
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    steps: PostedSteps,
    name: FormLine = "",
    description: FormText = "",
    trigger: FormText = "",
    active: FormLine = "1",
) -> Response:
    """The trigger's kind stays (a different trigger is a different playbook); its parameters change."""
    access.require_lead(user, "change playbooks")
    form = {
        "name": name, "description": description, "trigger_kind": "", "trigger": trigger, "active": active,
        "steps": steps,
    }  # fmt: skip
    return _save(request, user, session, clock, playbook_id, form)
