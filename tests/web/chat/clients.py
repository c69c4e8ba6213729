"""Chat clients for tests: real WebSockets (the ``websockets`` library) against a served app."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://", 1) + path


def start_chat(
    base: str, *, text: str = "Hi, my invoice is wrong", email: str | None = None
) -> dict[str, Any]:
    body = {
        "visitor_id": "v-" + secrets.token_hex(12),
        "client_id": "c-1",
        "name": "Ada Visitor",
        "email": email,
        "language": "en",
        "text": text,
    }
    response = httpx.post(base + "/api/v1/chat/start", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


class ChatClient:
    """One side of a chat; keeps every message frame it saw, by sequence number."""

    def __init__(self, connection: ClientConnection) -> None:
        self.ws = connection
        self.messages: dict[int, dict[str, Any]] = {}
        self.frames: list[dict[str, Any]] = []

    @classmethod
    def visitor(cls, base: str, token: str, last_seq: int = 0) -> ChatClient:
        client = cls(connect(ws_url(base, "/chat/ws/visitor"), open_timeout=10))
        client.send({"type": "hello", "token": token, "last_seq": last_seq})
        return client

    @classmethod
    def agent(cls, base: str, conversation_id: int, bearer: str, last_seq: int = 0) -> ChatClient:
        client = cls(
            connect(
                ws_url(base, f"/chat/ws/agent/{conversation_id}"),
                additional_headers={"Authorization": f"Bearer {bearer}"},
                open_timeout=10,
            )
        )
        client.send({"type": "hello", "last_seq": last_seq})
        return client

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def say(self, client_id: str, text: str) -> None:
        self.send({"type": "send", "client_id": client_id, "text": text})

    def next(self, timeout: float = 10) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        self.frames.append(frame)
        if frame["type"] == "message":
            self.messages[frame["seq"]] = frame
        return frame

    def until(self, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        while True:
            frame = self.next(timeout)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def close(self) -> None:
        self.ws.close()
