"""The ticket list's views bar (built-in and saved views with their counts), saving a view, and bulk
actions on the tickets selected in the list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from opsdesk.core.bounds import MAX_ID
from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.desk import queries
from opsdesk.desk.bulk import MAX_BULK, apply_bulk
from opsdesk.desk.models import Priority, Status
from opsdesk.desk.views import actions as view_actions
from opsdesk.desk.views import queries as view_queries
from opsdesk.desk.views.bulk_input import actions_from
from opsdesk.desk.views.filters import LIST_KEYS, to_filters
from opsdesk.desk.views.schemas import (
    AssignAction,
    BulkActionIn,
    PriorityAction,
    StatusAction,
    TagsAction,
)
from opsdesk.web.api.params import FormLine, PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffFormUser

router = APIRouter(include_in_schema=False)

BUILT_IN = {
    "mine": "My tickets",
    "unassigned": "Unassigned",
    "my_group": "My groups",
    "breaching_soon": "Breaching soon",
    "overdue": "Past an SLA target",
}
TicketIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(max_length=MAX_BULK)]


@dataclass(frozen=True)
class NavEntry:
    label: str
    href: str
    count: int
    active: bool
    key: str


def views_bar(
    session: Session, *, user: User, clock: Clock, settings: Settings, view: str, saved: int | None
) -> list[NavEntry]:
    """Every view the person may open, with how many tickets its list holds for them (each counted by
    the list's own condition, so the number is the length of the list it opens)."""
    minutes = settings.breaching_soon_minutes
    bar = [
        NavEntry(
            label,
            f"/tickets?view={key}",
            queries.count_tickets(
                session,
                user=user,
                filters=queries.TicketFilters(view=key),
                clock=clock,
                breaching_soon_minutes=minutes,
            ),
            saved is None and view == key,
            key,
        )
        for key, label in BUILT_IN.items()
    ]
    for counted in view_queries.counted_views(
        session, user=user, clock=clock, breaching_soon_minutes=minutes
    ):
        bar.append(
            NavEntry(
                counted.view.name + (" (shared)" if counted.view.shared else ""),
                f"/tickets?saved={counted.view.id}",
                counted.count,
                saved == counted.view.id,
                f"saved-{counted.view.id}",
            )
        )
    return bar


def _back(target: str) -> str:
    """Only back to the ticket list: a form's ``back`` field is never a way off the site."""
    return (
        target if target.startswith("/tickets") and "//" not in target and "\\" not in target else "/tickets"
    )


def _with(target: str, **params: Any) -> str:
    path, _, query = target.partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query) if k not in params and k != "cursor"]
    return f"{path}?{urlencode(pairs + list(params.items()))}"


@router.post("/tickets/bulk")
def post_bulk(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    ticket_ids: TicketIds = [],  # noqa: B006 (FastAPI copies defaults)
    assignee: FormLine = "",
    status: FormLine = "",
    priority: FormLine = "",
    add_tags: FormLine = "",
    remove_tags: FormLine = "",
    back: FormLine = "/tickets",
) -> Response:
    """Blank fields change nothing; ``assignee`` is an agent's id or ``none`` to unassign."""
    specs: list[BulkActionIn] = []
    if assignee:
        if assignee != "none" and not (assignee.isdigit() and 1 <= int(assignee) <= MAX_ID):
            raise ValidationFailed("choose an agent from the list", field="assignee")
        specs.append(AssignAction(type="assign", assignee_id=None if assignee == "none" else int(assignee)))
    if status:
        if status not in set(Status):
            raise ValidationFailed("choose a status from the list", field="status")
        specs.append(StatusAction(type="status", status=Status(status)))
    if priority:
        if priority not in set(Priority):
            raise ValidationFailed("choose a priority from the list", field="priority")
        specs.append(PriorityAction(type="priority", priority=Priority(priority)))
    if add_tags.strip() or remove_tags.strip():
        specs.append(
            TagsAction(
                type="tags",
                add=add_tags.replace(",", " ").split(),
                remove=remove_tags.replace(",", " ").split(),
            )
        )
    result = apply_bulk(
        session, actor=user, ticket_ids=ticket_ids, bulk_actions=actions_from(session, specs), clock=clock
    )
    session.commit()
    return RedirectResponse(
        _with(_back(back), done=len(result.applied), skipped=len(result.skipped)), status_code=303
    )


@router.post("/views")
def post_view(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    name: Annotated[str, Form(max_length=100)],
    query: FormLine = "",
    shared: FormLine = "",
) -> Response:
    """Save the list as it is filtered and sorted now (``query``: its query string) as a view."""
    raw: dict[str, Any] = {}
    sort = None
    for key, value in parse_qsl(query):
        if key == "sort":
            sort = value
        elif key == "saved":  # saving a saved view's list under another name keeps its filters
            number = int(value) if value.isdigit() and len(value) <= 10 else 0
            based_on = view_queries.view_for(session, number if number <= MAX_ID else 0, user)
            raw.update(based_on.filters)
            sort = sort or based_on.sort
        elif key in LIST_KEYS:
            raw.setdefault(key, []).append(value)
        elif key == "view":
            if value != "all":
                raw["view"] = value
        elif key not in ("cursor", "done", "skipped"):
            raw[key] = value
    to_filters(raw)
    view = view_actions.save_view(
        session, owner=user, clock=clock, name=name, filters=raw, sort=sort, shared=shared == "on"
    )
    session.commit()
    return RedirectResponse(f"/tickets?saved={view.id}", status_code=303)


@router.post("/views/{view_id}/delete")
def post_delete_view(view_id: PathId, user: StaffFormUser, session: SessionDep, clock: ClockDep) -> Response:
    view_actions.delete_view(
        session, view=view_queries.view_for(session, view_id, user), actor=user, clock=clock
    )
    session.commit()
    return RedirectResponse("/tickets?view=mine", status_code=303)
