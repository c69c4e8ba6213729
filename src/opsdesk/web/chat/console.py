"""The agent console: the chats waiting and in hand, each opened beside its requester's other tickets
and organisation. Server-rendered fragments; console.js swaps them in and runs each chat's socket."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from opsdesk.core.errors import NotFound
from opsdesk.core.models import Group, Role, User
from opsdesk.desk.access import ticket_for
from opsdesk.desk.channels.chat import queries
from opsdesk.desk.channels.chat.models import ChatConversation
from opsdesk.desk.routing.models import AgentPresence
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffPageUser
from opsdesk.web.ui.render import PageId, page

router = APIRouter(include_in_schema=False)
STAFF = (Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN)


@router.get("/chat")
def console(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    agents = session.scalars(
        select(User).where(User.role.in_(STAFF), User.active.is_(True)).order_by(User.name).limit(500)
    ).all()
    groups = session.scalars(select(Group).order_by(Group.name).limit(200)).all()
    chats = queries.console_chats(session, user)
    mine = session.get(AgentPresence, user.id)
    return page(request, "chat/console.html", user, chats=chats, agents=agents, groups=groups, mine=mine)


@router.get("/chat/list")
def chat_list(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    return page(request, "chat/_list.html", user, chats=queries.console_chats(session, user))


@router.get("/chat/{conversation_id}")
def chat_panel(
    conversation_id: PageId, request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep
) -> Response:
    conversation = session.get(ChatConversation, conversation_id)
    if conversation is None:
        raise NotFound(f"no chat {conversation_id}", field="conversation_id")
    ticket = ticket_for(session, conversation.ticket_id, user, clock)
    others = queries.other_tickets(session, ticket, user)
    return page(request, "chat/_panel.html", user, chat=conversation, ticket=ticket, others=others)
