"""Agent pages: ticket views, the ticket with its whole conversation, and the actions on it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from opsdesk.core.models import Group, Role, User
from opsdesk.desk import actions, queries
from opsdesk.desk.access import TicketOp, can, require, ticket_for
from opsdesk.desk.models import AuthorKind, Channel, Status
from opsdesk.desk.search import search_tickets
from opsdesk.desk.sla.queries import sla_state
from opsdesk.web.api.params import (
    FormBlankOrId,
    FormLine,
    FormText,
    OptionalFilter,
    PathId,
    QueryCursor,
    QueryFilter,
)
from opsdesk.web.deps import ClockDep, SessionDep, SettingsDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
VIEWS = {
    "mine": "My tickets",
    "unassigned": "Unassigned",
    "my_group": "My groups",
    "breaching_soon": "Breaching soon",
    "all": "All tickets",
}


@router.get("/tickets")
def ticket_list(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    view: QueryFilter = "mine",
    status: OptionalFilter = None,
    cursor: QueryCursor = None,
) -> Response:
    require(user, TicketOp.LIST)
    view = view if view in VIEWS else "mine"
    result = queries.list_tickets(
        session,
        user=user,
        clock=clock,
        filters=queries.TicketFilters(
            view=None if view == "all" else view, status=[Status(status)] if status in set(Status) else ()
        ),
        cursor=cursor,
        limit=50,
        breaching_soon_minutes=settings.breaching_soon_minutes,
    )
    return page(
        request,
        "tickets/list.html",
        user,
        view=view,
        title=VIEWS[view],
        status=status,
        tickets=result.items,
        next_cursor=result.next_cursor,
        now=clock.now(),
    )


@router.get("/tickets/{number}")
def ticket_page(
    number: PathId,
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    messages = queries.ticket_messages(session, ticket=ticket, user=user)
    agents = session.scalars(
        select(User)
        .where(User.role.in_([Role.AGENT, Role.SUPPORT_LEAD]), User.active.is_(True))
        .order_by(User.name)
    ).all()
    groups = session.scalars(select(Group).order_by(Group.name)).all()
    sla = sla_state(session, ticket=ticket, clock=clock, settings=settings)
    session.commit()  # the audit row of a sensitive read
    return page(
        request,
        "tickets/show.html",
        user,
        ticket=ticket,
        messages=messages,
        agents=agents,
        groups=groups,
        sla=sla,
        statuses=[s for s in Status if s is not Status.CLOSED],
        can_reply=can(user, TicketOp.REPLY, ticket),
        can_note=can(user, TicketOp.NOTE, ticket),
        can_update=can(user, TicketOp.UPDATE_STATUS, ticket),
        can_assign=can(user, TicketOp.ASSIGN, ticket),
        can_escalate=can(user, TicketOp.ESCALATE, ticket),
    )


def _back(number: int) -> RedirectResponse:
    return RedirectResponse(f"/tickets/{number}", status_code=303)


@router.post("/tickets/{number}/messages")
def post_message(
    number: PathId,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    body: FormText,
    kind: FormLine = "reply",
    then_status: FormLine = "",
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    public = kind == "reply"
    require(user, TicketOp.REPLY if public else TicketOp.NOTE, ticket)
    actions.add_message(
        session,
        ticket=ticket,
        author=user,
        author_kind=AuthorKind.AGENT,
        public=public,
        channel=Channel.WEB,
        clock=clock,
        body_text=body,
    )
    if then_status in set(Status) and Status(then_status) is not ticket.status:
        require(user, TicketOp.UPDATE_STATUS, ticket)
        actions.change_status(session, ticket=ticket, to=Status(then_status), actor=user, clock=clock)
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/status")
def post_status(
    number: PathId, user: FormUser, session: SessionDep, clock: ClockDep, status: FormLine
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.UPDATE_STATUS, ticket)
    actions.change_status(session, ticket=ticket, to=Status(status), actor=user, clock=clock)
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/assign")
def post_assign(
    number: PathId,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    assignee_id: FormBlankOrId = "",
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.ASSIGN, ticket)
    assignee = session.get(User, int(assignee_id)) if assignee_id.isdigit() else None
    actions.assign(session, ticket=ticket, assignee=assignee, actor=user, clock=clock)
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/escalate")
def post_escalate(
    number: PathId,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    reason: FormLine,
    group_id: FormBlankOrId = "",
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.ESCALATE, ticket)
    group = session.get(Group, int(group_id)) if group_id.isdigit() else None
    actions.escalate(session, ticket=ticket, reason=reason, actor=user, clock=clock, group=group)
    session.commit()
    return _back(number)


@router.get("/search")
def search_page(request: Request, user: PageUser, session: SessionDep, q: QueryFilter = "") -> Response:
    require(user, TicketOp.LIST)
    hits = search_tickets(session, user=user, q=q) if q.strip() else []
    return page(request, "tickets/search.html", user, q=q, hits=hits)
