"""The requester's pages: submit a request and follow their own (or their organisation's) tickets."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from opsdesk.desk import actions, queries
from opsdesk.desk.access import TicketOp, audit_shown, require, ticket_for, visible_to
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from opsdesk.web.api.params import FormLine, FormText, PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/portal")
def my_requests(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    tickets = session.scalars(
        select(Ticket).where(visible_to(user)).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(200)
    ).all()
    audit_shown(session, user, tickets, clock, via="portal_list")
    session.commit()  # writes the audit rows of the sensitive tickets listed
    return page(request, "portal/list.html", user, tickets=tickets)


@router.get("/portal/new")
def new_request_form(request: Request, user: PageUser) -> Response:
    require(user, TicketOp.CREATE)
    return page(request, "portal/new.html", user, error=None)


@router.post("/portal/new")
def new_request(
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    subject: FormLine,
    body: FormText,
) -> Response:
    require(user, TicketOp.CREATE)
    ticket = actions.create_ticket(
        session, requester=user, subject=subject, body_text=body, channel=Channel.WEB, clock=clock
    )
    session.commit()
    return RedirectResponse(f"/portal/tickets/{ticket.id}", status_code=303)


@router.get("/portal/tickets/{number}")
def request_page(
    number: PathId, request: Request, user: PageUser, session: SessionDep, clock: ClockDep
) -> Response:
    ticket = ticket_for(session, number, user, clock)
    messages = queries.ticket_messages(session, ticket=ticket, user=user)
    session.commit()
    return page(request, "portal/show.html", user, ticket=ticket, messages=messages)


@router.post("/portal/tickets/{number}/reply")
def reply(number: PathId, user: FormUser, session: SessionDep, clock: ClockDep, body: FormText) -> Response:
    ticket = ticket_for(session, number, user, clock)
    require(user, TicketOp.REPLY, ticket)
    if ticket.status is Status.CLOSED:
        ticket = actions.create_ticket(
            session,
            requester=user,
            subject=ticket.subject,
            body_text=body,
            channel=Channel.WEB,
            clock=clock,
            follow_up_of=ticket,
        )
    else:
        actions.add_message(
            session,
            ticket=ticket,
            author=user,
            author_kind=AuthorKind.REQUESTER,
            public=True,
            channel=Channel.WEB,
            clock=clock,
            body_text=body,
        )
    session.commit()
    return RedirectResponse(f"/portal/tickets/{ticket.id}", status_code=303)
