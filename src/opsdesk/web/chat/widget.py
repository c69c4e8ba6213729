"""The widget's HTTP side: is anyone online, start a chat (the pre-chat form), leave a message.

Called from customers' own sites, so these answer cross-origin requests (CORS) from the origins in
``OPSDESK_CHAT_WIDGET_ORIGINS`` (any when empty). They carry no cookies and need none: a chat is
reached afterwards with the bearer token the start returns, kept by the widget in the visitor's
browser."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.core import sign_in
from opsdesk.core.bounds import MAX_ID
from opsdesk.core.database import declare_write, transaction
from opsdesk.core.errors import Conflict
from opsdesk.core.models import IdentityKind
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.attachments import AttachmentStore, NewAttachment, safe_filename
from opsdesk.desk.channels.chat import actions, queries
from opsdesk.desk.channels.chat.models import Sender
from opsdesk.desk.channels.chat.protocol import MAX_TEXT
from opsdesk.desk.channels.chat.throttle import count_new_chat
from opsdesk.desk.models import Channel
from opsdesk.desk.requesters import find_or_create_requester
from opsdesk.web.chat.hub import CONSOLE, hub_for
from opsdesk.web.deps import Unauthenticated
from opsdesk.web.errors import error_body

PREFIX = "/api/v1/chat"
# Types a browser shows without running anything; any other file downloads as bytes.
INERT_TYPES = ("image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain", "text/csv")
router = APIRouter(prefix=PREFIX, tags=["chat"])

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{16,64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^\x00]*$")]
Language = Annotated[str, StringConstraints(max_length=16, pattern=r"^[A-Za-z-]*$")]
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT, pattern=r"^[^\x00]*$")]


class StartIn(BaseModel):
    visitor_id: VisitorId
    client_id: ClientId
    name: Name
    email: Email | None = None
    language: Language | None = None
    text: Body


class OfflineIn(BaseModel):
    visitor_id: VisitorId
    client_id: ClientId
    name: Name
    email: Email = Field(description="replies go to this address")
    language: Language | None = None
    text: Body


def allowed_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.chat_widget_origins.split(",") if o.strip()]


class WidgetCors:
    """CORS for the widget's endpoints, errors included (so the widget can show why), as pure ASGI
    middleware: an allowed origin gets its own name back (no cookies are involved), a preflight is
    answered here, and a request from an origin not allowed is refused before it does anything."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = allowed_origins(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin and self.allowed and origin.rstrip("/") not in self.allowed:
            refusal = JSONResponse(error_body("forbidden", "this site may not embed the chat", "origin"), 403)
            await refusal(scope, receive, send)
            return
        cors = (
            [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            if origin
            else []
        )
        if scope["method"] == "OPTIONS":
            cors += [
                (b"access-control-allow-methods", b"GET, POST"),
                (b"access-control-allow-headers", b"content-type, authorization"),
                (b"access-control-max-age", b"600"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": cors})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        await self.app(scope, receive, with_cors)


def _in_hours(state: Any) -> bool:
    with transaction(state.session_factory, write=False) as session:
        return queries.open_for_chat(session, state.settings.chat_schedule, state.clock.now())


def _count(session: Session, state: Any, address: str) -> None:
    """Counted apart from the chat it allows, so a refused or failed start still counts."""
    counter = sign_in.counter_for(session, state.settings.redis_url)
    count_new_chat(counter, address=address, clock=state.clock)
    session.commit()
    declare_write(session)


@router.get("/availability")
async def availability(request: Request) -> JSONResponse:
    """Whether chat is in its hours and an agent has the console open; when not, the widget says why
    and offers a message form instead."""
    state = request.app.state
    if not await run_in_threadpool(_in_hours, state):
        return JSONResponse({"online": False, "reason": "closed"})
    online = await (await hub_for(state)).agents_online() > 0
    return JSONResponse({"online": online, "reason": None if online else "nobody_online"})


@router.post("/start", status_code=201)
async def start(request: Request, body: StartIn) -> JSONResponse:
    """The pre-chat form: a chat ticket with the first message; the token reaches it afterwards."""
    state = request.app.state
    address = request.client.host if request.client else ""

    def run() -> dict[str, Any]:
        with transaction(state.session_factory) as session:
            _count(session, state, address)
            if not queries.open_for_chat(session, state.settings.chat_schedule, state.clock.now()):
                raise Conflict("chat is closed now; leave a message instead", field="chat")
            started = actions.start_chat(
                session,
                visitor_id=body.visitor_id,
                name=body.name,
                email=body.email,
                language=body.language,
                text=body.text,
                client_id=body.client_id,
                clock=state.clock,
            )
            return {
                "token": started.token,
                "conversation_id": started.conversation.id,
                "ticket_id": started.conversation.ticket_id,
                "last_seq": started.conversation.last_seq,
            }

    result = await run_in_threadpool(run)
    await (await hub_for(state)).publish(CONSOLE, {"type": "chats_changed"})
    return JSONResponse(result, status_code=201)


@router.post("/offline", status_code=201)
async def offline(request: Request, body: OfflineIn) -> JSONResponse:
    """Nobody is online: the message becomes an email ticket, answered by mail like any other."""
    state = request.app.state
    address = request.client.host if request.client else ""

    def run() -> dict[str, Any]:
        with transaction(state.session_factory) as session:
            _count(session, state, address)
            person = find_or_create_requester(
                session, kind=IdentityKind.EMAIL, value=body.email, name=body.name, clock=state.clock
            )
            ticket = desk_actions.create_ticket(
                session,
                requester=person,
                subject=body.text.splitlines()[0][:200] or "Message from the chat",
                body_text=body.text,
                channel=Channel.EMAIL,
                clock=state.clock,
                external_id=f"chat-offline:{body.visitor_id}:{body.client_id}",
                tags=["chat_offline"],
            )
            return {"ticket_id": ticket.id}

    return JSONResponse(await run_in_threadpool(run), status_code=201)


def _visitor_token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise Unauthenticated("send the chat's token as 'Authorization: Bearer <token>'")
    return auth[7:].strip()


@router.post("/messages", status_code=201)
async def send_with_file(
    request: Request,
    client_id: Annotated[ClientId, Form()],
    file: UploadFile,
    text: Annotated[str, Form(max_length=MAX_TEXT, pattern=r"^[^\x00]*$")] = "",
) -> JSONResponse:
    """The visitor sends a file (with optional text) into their chat: a message like any other, with
    its own client id, so a resend is stored once; the answer is the message's ack."""
    state = request.app.state
    token = _visitor_token(request)
    store = AttachmentStore.from_settings(state.settings)
    data = await file.read(store.max_bytes + 1)
    store.check_size(len(data), safe_filename(file.filename or "attachment"))
    upload = NewAttachment(
        filename=file.filename or "attachment", content_type=file.content_type or "", data=data
    )

    def run() -> tuple[dict[str, Any], bool, int]:
        with transaction(state.session_factory) as session:
            conversation = queries.conversation_by_token(session, token)
            if conversation is None:
                raise Unauthenticated("no chat for this token")
            entry, new = actions.post_message(
                session,
                conversation=conversation,
                sender=Sender.VISITOR,
                author=conversation.ticket.requester,
                text=text,
                client_id=client_id,
                clock=state.clock,
                attachments=[upload],
                store=store,
            )
            return queries.entry_frame(entry, entry.message), new, conversation.id

    frame, new, conversation_id = await run_in_threadpool(run)
    if new:
        await (await hub_for(state)).publish(conversation_id, frame)
    return JSONResponse({"type": "ack", "client_id": client_id, "seq": frame["seq"]}, status_code=201)


@router.get("/attachments/{attachment_id}", response_class=Response)
async def visitor_download(
    request: Request, attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    """A file of the visitor's own chat (either side's), by their token."""
    state = request.app.state
    token = _visitor_token(request)

    def run() -> tuple[bytes, str, str]:
        with transaction(state.session_factory, write=False) as session:
            conversation = queries.conversation_by_token(session, token)
            if conversation is None:
                raise Unauthenticated("no chat for this token")
            row = queries.visitor_attachment(session, conversation, attachment_id)
            data = AttachmentStore.from_settings(state.settings).open(row.storage_key)
            return data, row.content_type, row.filename

    data, content_type, filename = await run_in_threadpool(run)
    media_type = content_type if content_type in INERT_TYPES else "application/octet-stream"
    quoted = filename.replace('"', "")
    return Response(
        content=data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{quoted}"'},
    )
