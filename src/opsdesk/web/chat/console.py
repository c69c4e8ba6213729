"""The agent console: the chats waiting and in hand, each opened beside its requester's other tickets
and organisation. Server-rendered fragments; console.js swaps them in and runs each chat's socket."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from opsdesk.core.errors import NotFound
from opsdesk.core.models import Group, Role, User
from opsdesk.desk.access import ticket_for
from opsdesk.desk.attachments import AttachmentStore, NewAttachment, safe_filename
from opsdesk.desk.channels.chat import queries
from opsdesk.desk.channels.chat.models import ChatConversation
from opsdesk.desk.channels.chat.protocol import MAX_TEXT, Send
from opsdesk.desk.routing.models import AgentPresence
from opsdesk.web.chat import work
from opsdesk.web.chat.hub import CONSOLE, hub_for
from opsdesk.web.chat.widget import ClientId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
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


@router.post("/chat/{conversation_id}/messages", status_code=201)
async def agent_send_file(
    conversation_id: PageId,
    request: Request,
    user: StaffFormUser,
    session: SessionDep,
    client_id: Annotated[ClientId, Form()],
    file: UploadFile,
    text: Annotated[str, Form(max_length=MAX_TEXT, pattern=r"^[^\x00]*$")] = "",
) -> JSONResponse:
    """The agent sends a file (with optional text) into a chat: the widget's upload path the other way
    round, with the same size limit and storage. The visitor downloads it with their chat's token;
    staff through the ticket's attachments, as its readers."""
    state = request.app.state
    store = AttachmentStore.from_settings(state.settings)
    data = await file.read(store.max_bytes + 1)
    store.check_size(len(data), safe_filename(file.filename or "attachment"))
    upload = NewAttachment(
        filename=file.filename or "attachment", content_type=file.content_type or "", data=data
    )

    def run() -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        # The request's own session: on SQLite it already holds the write lock for this post.
        who = work.agent_conversation(session, user.id, conversation_id, state.clock)
        frame, new, chat_state = work.send(
            session, who, Send(client_id, text), state.clock, attachments=[upload], store=store
        )
        session.commit()
        return frame, new, chat_state

    frame, new, chat_state = await run_in_threadpool(run)
    hub = await hub_for(state)
    if new:
        await hub.publish(conversation_id, frame)
    if chat_state is not None:
        await hub.publish(conversation_id, chat_state)
        await hub.publish(CONSOLE, {"type": "chats_changed"})
    return JSONResponse({"type": "ack", "client_id": client_id, "seq": frame["seq"]}, status_code=201)
