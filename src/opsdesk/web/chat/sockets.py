"""The chat WebSocket endpoints: the visitor's (bearer token from the pre-chat form, any allowed
origin), an agent's per conversation, and the console's (which chats wait; who is online).

A client's first frame is ``hello`` with the last sequence number it saw; it gets the conversation's
state and every message after that number, then live frames. Agents authenticate as for the API (a
session cookie, or a bearer token); a cookie is only taken from this site's own pages (Origin
checked), since browsers send cookies on cross-site WebSocket handshakes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from opsdesk.core.database import transaction
from opsdesk.core.errors import NotFound, OpsDeskError, PermissionDenied
from opsdesk.desk.channels.chat import protocol
from opsdesk.desk.channels.chat.protocol import Accept, End, Hello, Ping, Rate, Read, Send, Transfer, Typing
from opsdesk.web.chat import work
from opsdesk.web.chat.batch import batcher_for
from opsdesk.web.chat.hub import CONSOLE, LocalHub, Subscription, hub_for
from opsdesk.web.chat.widget import allowed_origins
from opsdesk.web.deps import SESSION_COOKIE

router = APIRouter()
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TIMEOUT = 4408
HELLO_WITHIN_S = 15.0
CONSOLE_BEAT_S = 20.0
T = TypeVar("T")


async def _db(ws: WebSocket, fn: Callable[..., T], *args: Any) -> T:
    """``fn(session, *args, clock?)`` in one transaction on a worker thread."""
    state = ws.app.state

    def run() -> T:
        with transaction(state.session_factory) as session:
            return fn(session, *args)

    return await run_in_threadpool(run)


def widget_origin_allowed(ws: WebSocket) -> bool:
    allowed = allowed_origins(ws.app.state.settings)
    return not allowed or ws.headers.get("origin", "").rstrip("/") in allowed


def same_site(ws: WebSocket) -> bool:
    """A browser always sends Origin; it must be this host. Non-browser clients send none."""
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == ws.headers.get("host")


async def _hello(ws: WebSocket, role: protocol.Role) -> Hello | None:
    try:
        raw = await asyncio.wait_for(ws.receive_text(), HELLO_WITHIN_S)
        frame = protocol.parse_frame(raw, role)
    except TimeoutError:
        await ws.close(CLOSE_TIMEOUT, "send hello first")
        return None
    except OpsDeskError as exc:
        await ws.close(CLOSE_UNAUTHENTICATED, exc.message[:120])
        return None
    if not isinstance(frame, Hello):
        await ws.close(CLOSE_UNAUTHENTICATED, "send hello first")
        return None
    return frame


async def _send(ws: WebSocket, frame: dict[str, Any]) -> None:
    await ws.send_text(json.dumps({k: v for k, v in frame.items() if k != "origin"}))


async def _pump(ws: WebSocket, sub: Subscription, me: str) -> None:
    """Live frames to this socket; typing and read frames are not echoed to the socket that sent them."""
    while True:
        frame = await sub.queue.get()
        if frame is None:
            await ws.close(1013, "fell behind; reconnect")
            return
        if frame.get("origin") == me and frame["type"] in ("typing", "read"):
            continue
        await _send(ws, frame)


@router.websocket("/chat/ws/visitor")
async def visitor_socket(ws: WebSocket) -> None:
    await ws.accept()
    if not widget_origin_allowed(ws):
        await ws.close(CLOSE_FORBIDDEN, "this site may not embed the chat")
        return
    hello = await _hello(ws, "visitor")
    if hello is None:
        return
    try:
        who = await _db(ws, work.visitor_conversation, hello.token or "")
    except NotFound:
        await ws.close(CLOSE_UNAUTHENTICATED, "no chat for this token")
        return
    await _converse(ws, who, hello)


@router.websocket("/chat/ws/agent/{conversation_id}")
async def agent_socket(ws: WebSocket, conversation_id: int) -> None:
    await ws.accept()
    user_id = await _staff(ws)
    if user_id is None:
        return
    hello = await _hello(ws, "agent")
    if hello is None:
        return
    clock = ws.app.state.clock
    if not 1 <= conversation_id <= protocol.MAX_ID:
        await ws.close(CLOSE_NOT_FOUND, "no such chat")
        return
    try:
        who = await _db(ws, work.agent_conversation, user_id, conversation_id, clock)
    except NotFound:
        await ws.close(CLOSE_NOT_FOUND, "no such chat")
        return
    except PermissionDenied as exc:
        await ws.close(CLOSE_FORBIDDEN, exc.message[:120])
        return
    await _converse(ws, who, hello)


async def _staff(ws: WebSocket) -> int | None:
    """The signed-in staff member's id, or None after closing the socket."""
    auth = ws.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    cookie = None if bearer else ws.cookies.get(SESSION_COOKIE)
    if cookie and not same_site(ws):
        await ws.close(CLOSE_FORBIDDEN, "the console connects from this site's own pages")
        return None
    clock = ws.app.state.clock
    try:
        user = await _db(
            ws, lambda s: work.authenticate_staff(s, bearer=bearer, cookie=cookie, clock=clock).id
        )
    except NotFound:
        await ws.close(CLOSE_UNAUTHENTICATED, "sign in first")
        return None
    except PermissionDenied as exc:
        await ws.close(CLOSE_FORBIDDEN, exc.message[:120])
        return None
    return int(user)


async def _converse(ws: WebSocket, who: work.Who, hello: Hello) -> None:
    clock = ws.app.state.clock
    hub = await hub_for(ws.app.state)
    topic = who.conversation_id
    sub = hub.subscribe(topic)  # before the backlog is read, so nothing falls between the two
    me = secrets.token_hex(8)
    pump: asyncio.Task[None] | None = None
    try:
        frames, came_online = await _db(ws, work.welcome, who, hello.last_seq, clock)
        for frame in frames:
            await _send(ws, frame)
        if came_online:
            await hub.publish(topic, {"type": "presence", "visitor": "online"})
        pump = asyncio.create_task(_pump(ws, sub, me))
        while True:
            raw = await ws.receive_text()
            try:
                await _handle(ws, hub, who, protocol.parse_frame(raw, who.sender.value), me)
            except OpsDeskError as exc:
                await _send(ws, protocol.error_frame(exc, exc.field))
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(sub)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
        if who.sender is work.Sender.VISITOR and await _db(ws, work.leave, who):
            await hub.publish(topic, {"type": "presence", "visitor": "left"})


async def _handle(ws: WebSocket, hub: LocalHub, who: work.Who, frame: protocol.Frame, me: str) -> None:
    clock = ws.app.state.clock
    topic = who.conversation_id
    side = who.sender.value
    if isinstance(frame, Send):
        message, new, chat_state = await batcher_for(ws.app.state).send(who, frame, clock)
        await _send(ws, {"type": "ack", "client_id": frame.client_id, "seq": message["seq"]})
        if new:
            await hub.publish(topic, message)
        if chat_state is not None:  # this message took the chat
            await hub.publish(topic, chat_state)
            await hub.publish(CONSOLE, {"type": "chats_changed"})
    elif isinstance(frame, Hello):
        for message in await _db(ws, work.resync, who, frame.last_seq, clock):
            await _send(ws, message)
    elif isinstance(frame, Typing):
        await hub.publish(topic, {"type": "typing", "from": side, "on": frame.on, "origin": me})
    elif isinstance(frame, Read):
        seq = await _db(ws, work.mark_read, who, frame.seq, clock)
        await hub.publish(topic, {"type": "read", "from": side, "seq": seq, "origin": me})
    elif isinstance(frame, End):
        if await _db(ws, work.end, who, clock):
            await hub.publish(topic, {"type": "ended", "by": "agent" if side == "agent" else "customer"})
            await hub.publish(CONSOLE, {"type": "chats_changed"})
    elif isinstance(frame, Accept):
        await hub.publish(topic, await _db(ws, work.accept, who, clock))
        await hub.publish(CONSOLE, {"type": "chats_changed"})
    elif isinstance(frame, Transfer):
        await hub.publish(topic, await _db(ws, work.transfer, who, frame, clock))
        await hub.publish(CONSOLE, {"type": "chats_changed"})
    elif isinstance(frame, Rate):
        stored = await _db(ws, work.rate, who, frame, clock)
        await _send(ws, {"type": "rated", "rating": frame.rating, "stored": stored})
    elif isinstance(frame, Ping):
        await _send(ws, {"type": "pong"})


@router.websocket("/chat/ws/console")
async def console_socket(ws: WebSocket) -> None:
    """Tells an agent's console when chats start, wait or move, and counts the agent as online for
    chat while it is open (the widget offers a message form when no one is)."""
    await ws.accept()
    user_id = await _staff(ws)
    if user_id is None:
        return
    hub = await hub_for(ws.app.state)
    sub = hub.subscribe(CONSOLE)
    await hub.agent_seen(user_id)

    async def beat() -> None:
        while True:
            await asyncio.sleep(CONSOLE_BEAT_S)
            await hub.agent_seen(user_id)

    beating = asyncio.create_task(beat())
    pump = asyncio.create_task(_pump(ws, sub, ""))
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(sub)
        for task in (beating, pump):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await hub.agent_gone(user_id)
