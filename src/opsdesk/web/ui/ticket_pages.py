"""Agent pages: ticket views, the ticket with its whole conversation, and the actions on it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, OpsDeskError, ValidationFailed
from opsdesk.core.models import Group, Role, User
from opsdesk.desk import access, actions, queries, ticket_sort
from opsdesk.desk.access import TicketOp, audit_shown, can, can_see, require, ticket_for
from opsdesk.desk.automation.macros import macros_for
from opsdesk.desk.bulk import MAX_BULK
from opsdesk.desk.channels.email.ccs import remove_cc, ticket_ccs
from opsdesk.desk.channels.email.sources import sources_for
from opsdesk.desk.channels.social.limits import check_public_reply, public_reply_limit
from opsdesk.desk.channels.social.outbound import MAX_ATTEMPTS
from opsdesk.desk.channels.social.queries import deliveries_of
from opsdesk.desk.models import AuthorKind, Channel, Priority, Status, Ticket
from opsdesk.desk.schemas import MAX_ID, BreakGlassOut
from opsdesk.desk.search import clean_query, search_tickets
from opsdesk.desk.sla.queries import sla_state
from opsdesk.desk.surveys import queries as survey_queries
from opsdesk.desk.views import actions as view_actions
from opsdesk.desk.views import filters as view_filters
from opsdesk.desk.views import queries as view_queries
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
from opsdesk.web.ui.auth import PageUser, StaffFormUser, StaffPageUser
from opsdesk.web.ui.render import PageId, page
from opsdesk.web.ui.view_pages import views_bar

router = APIRouter(include_in_schema=False)


class UnknownFilter(OpsDeskError):
    """A list filter the page does not know: a 400 page naming the choices, rather than a list that
    looks filtered but is not."""


VIEWS = {
    "mine": "My tickets",
    "unassigned": "Unassigned",
    "my_group": "My groups",
    "breaching_soon": "Breaching soon",
    "overdue": "Past an SLA target",
    "all": "All tickets",
}


SORTABLE = {
    "number": "#",
    "status": "Status",
    "priority": "Priority",
    "sla_due": "Next SLA target",
    "updated": "Updated",
}
QueryCount = Annotated[int | None, Query(ge=0, le=MAX_BULK)]


@router.get("/tickets")
def ticket_list(
    request: Request,
    user: StaffPageUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    view: QueryFilter = "mine",
    status: OptionalFilter = None,
    priority: OptionalFilter = None,
    channel: OptionalFilter = None,
    tag: OptionalFilter = None,
    group_id: OptionalFilter = None,
    assignee_id: OptionalFilter = None,
    sort: OptionalFilter = None,
    saved: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    cursor: QueryCursor = None,
    done: QueryCount = None,
    skipped: QueryCount = None,
) -> Response:
    require(user, TicketOp.LIST)
    if view not in VIEWS:
        raise UnknownFilter(f"There is no ticket view {view!r}; the views are {', '.join(VIEWS)}.")
    if status and status not in set(Status):
        choices = ", ".join(s.value for s in Status)
        raise UnknownFilter(f"There is no ticket status {status!r}; the statuses are {choices}.")
    saved_view = view_queries.view_for(session, saved, user) if saved is not None else None
    if saved_view is not None:
        raw, title = dict(saved_view.filters), saved_view.name
        sort = sort or saved_view.sort
        params: dict[str, str | int] = {"saved": saved_view.id}
    else:
        given = {"status": status, "priority": priority, "channel": channel, "tag": tag}
        given |= {"group_id": group_id, "assignee_id": assignee_id}
        raw = {k: v for k, v in given.items() if v}
        if view != "all":
            raw["view"] = view
        title = VIEWS[view]
        params = {"view": view, **{k: str(v) for k, v in raw.items() if k != "view"}}
    try:
        filters = view_filters.to_filters(raw)
        if sort:
            ticket_sort.parse(sort)
    except ValidationFailed as exc:
        raise UnknownFilter(exc.message) from exc
    result = queries.list_tickets(
        session,
        user=user,
        clock=clock,
        filters=filters,
        cursor=cursor,
        limit=50,
        breaching_soon_minutes=settings.breaching_soon_minutes,
        sort=sort or None,
    )
    audit_shown(session, user, result.items, clock, via="page_list")
    bar = views_bar(session, user=user, clock=clock, settings=settings, view=view, saved=saved)
    agents = session.scalars(
        select(User)
        .where(User.role.in_([Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN]), User.active.is_(True))
        .order_by(User.name)
    ).all()
    session.commit()  # writes the audit rows of the sensitive tickets listed

    def link(**changes: str | None) -> str:
        merged = {**params, **({"sort": sort} if sort else {}), **changes}
        return "/tickets?" + urlencode({k: v for k, v in merged.items() if v is not None})

    return page(
        request,
        "tickets/list.html",
        user,
        view=view,
        title=title,
        status=status if saved_view is None else None,
        tickets=result.items,
        next_cursor=result.next_cursor,
        now=clock.now(),
        views_bar=bar,
        saved_view=saved_view,
        sort=sort,
        sortable=SORTABLE,
        link=link,
        here=link(),
        agents=agents,
        statuses=[s for s in Status if s is not Status.CLOSED],
        priorities=list(Priority),
        done=done,
        skipped=skipped,
        can_share=view_actions.can_share(user),
        max_bulk=MAX_BULK,
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
    if not user.is_staff:
        return _to_portal(session, number, user, clock)
    try:
        ticket = ticket_for(session, number, user, clock)
    except NotFound:
        if not permissions.has(user, permissions.TICKET_BREAK_GLASS):
            raise
        # The same answer whether the number exists or not; a lead or admin may ask for a break-glass read.
        return page(request, "tickets/break_glass.html", user, status_code=404, number=number, error=None)
    messages = queries.ticket_messages(session, ticket=ticket, user=user)
    grants = [BreakGlassOut.of(grant, actor) for grant, actor in access.break_glass_grants(session, ticket)]
    agents = session.scalars(
        select(User)
        .where(User.role.in_([Role.AGENT, Role.SUPPORT_LEAD]), User.active.is_(True))
        .order_by(User.name)
    ).all()
    groups = session.scalars(select(Group).order_by(Group.name)).all()
    sla = sla_state(session, ticket=ticket, clock=clock, settings=settings)
    ccs = ticket_ccs(session, ticket.id)
    sources = sources_for(session, (m.id for m in messages))
    recent = queries.requester_recent_tickets(session, ticket=ticket, user=user)
    audit_shown(session, user, recent, clock, via="page_requester_tickets")
    rating, survey = (
        survey_queries.rating_for(session, ticket.id),
        survey_queries.survey_for(session, ticket.id),
    )
    social = ticket.channel is Channel.SOCIAL
    deliveries = {d.message_id: d for d in deliveries_of(session, ticket)} if social else {}
    reply_limit = public_reply_limit(session, ticket, settings) if social else None
    session.commit()  # the audit rows of a sensitive read (the ticket, and those listed beside it)
    return page(
        request,
        "tickets/show.html",
        user,
        ticket=ticket,
        messages=messages,
        agents=agents,
        groups=groups,
        sla=sla,
        grants=grants,
        ccs=ccs,
        sources=sources,
        recent=recent,
        rating=rating,
        survey=survey,
        deliveries=deliveries,
        reply_limit=reply_limit,
        max_attempts=MAX_ATTEMPTS,
        breaking_glass=not access.can_see(user, ticket),
        statuses=[s for s in Status if s is not Status.CLOSED],
        can_reply=can(user, TicketOp.REPLY, ticket),
        can_note=can(user, TicketOp.NOTE, ticket),
        can_update=can(user, TicketOp.UPDATE_STATUS, ticket),
        can_assign=can(user, TicketOp.ASSIGN, ticket),
        can_escalate=can(user, TicketOp.ESCALATE, ticket),
        can_return=can(user, TicketOp.RETURN_TO_L1, ticket),
        default_l2=actions.default_l2_group(session),
        macros=macros_for(session, user) if can(user, TicketOp.UPDATE, ticket) else [],
    )


def _to_portal(session: Session, number: int, user: User, clock: Clock) -> Response:
    """A requester opening a staff ticket link goes to the portal's page for it when it is theirs to
    see; anything else is not found, as on the portal (refused sensitive reads are audited there too)."""
    ticket = session.get(Ticket, number)
    if ticket is None or not can_see(user, ticket):
        ticket_for(session, number, user, clock)
    return RedirectResponse(f"/portal/tickets/{number}", status_code=303)


def _chosen_group(session: Session, group_id: str) -> Group | None:
    """The group a form's select names; the empty choice (the action's default) or a stale id is None."""
    if not group_id.isascii() or not group_id.isdigit() or not 1 <= int(group_id) <= MAX_ID:
        return None
    return session.get(Group, int(group_id))


def _back(number: int) -> RedirectResponse:
    return RedirectResponse(f"/tickets/{number}", status_code=303)


@router.post("/tickets/{number}/break-glass")
def post_break_glass(
    number: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        access.break_glass(session, number, user, reason, clock)
    except ValidationFailed as exc:
        if exc.field != "reason":
            raise
        return page(
            request, "tickets/break_glass.html", user, status_code=422, number=number, error=exc.message
        )
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/messages")
def post_message(
    number: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    body: FormText,
    kind: FormLine = "reply",
    then_status: FormLine = "",
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    public = kind == "reply"
    require(user, TicketOp.REPLY if public else TicketOp.NOTE, ticket)
    if public:
        check_public_reply(session, ticket=ticket, text=body.strip(), settings=settings, field="body")
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


@router.post("/tickets/{number}/ccs/remove")
def post_remove_cc(
    number: PathId, user: StaffFormUser, session: SessionDep, clock: ClockDep, address: FormLine
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.UPDATE, ticket)
    remove_cc(session, ticket=ticket, address=address, actor=user, clock=clock)
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/status")
def post_status(
    number: PathId, user: StaffFormUser, session: SessionDep, clock: ClockDep, status: FormLine
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.UPDATE_STATUS, ticket)
    actions.change_status(session, ticket=ticket, to=Status(status), actor=user, clock=clock)
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/assign")
def post_assign(
    number: PathId,
    user: StaffFormUser,
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
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    reason: FormLine,
    group_id: FormBlankOrId = "",
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.ESCALATE, ticket)
    group = _chosen_group(session, group_id)
    actions.escalate(session, ticket=ticket, reason=reason, actor=user, clock=clock, group=group)
    session.commit()
    return _back(number)


@router.post("/tickets/{number}/return-to-l1")
def post_return_to_l1(
    number: PageId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    reason: Annotated[str, Form(max_length=2000)],
    group_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.RETURN_TO_L1, ticket)
    group = _chosen_group(session, group_id)
    actions.return_to_l1(session, ticket=ticket, reason=reason, actor=user, clock=clock, group=group)
    session.commit()
    return _back(number)


@router.get("/search")
def search_page(
    request: Request,
    user: StaffPageUser,
    session: SessionDep,
    clock: ClockDep,
    q: str = "",
    cursor: str = "",
) -> Response:
    """Any input gives the search page: what cannot be searched for says why beside the form."""
    require(user, TicketOp.LIST)
    results, problem, q = None, "", clean_query(q)
    if q:
        try:
            results = search_tickets(session, user=user, q=q, cursor=cursor or None)
        except ValidationFailed as exc:
            problem = exc.message
    if results is not None:
        audit_shown(session, user, (h.ticket for h in results.hits), clock, via="page_search")
        session.commit()  # writes the audit rows of the sensitive tickets found
    return page(request, "tickets/search.html", user, q=q, results=results, problem=problem)
