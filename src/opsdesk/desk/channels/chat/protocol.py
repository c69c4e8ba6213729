"""The chat wire protocol: the frames a widget or a console sends, checked, and the frames it receives.

Pure (no database, no sockets) so the rules can be tested alone. Every frame is a JSON object with a
``type``. A client that connects sends ``hello`` with the last sequence number it saw and receives
every message after it; each message it sends carries its own ``client_id``, so a resend after a lost
connection is recognised and stored once (the server answers it with the same ``ack``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from opsdesk.core.bounds import MAX_ID, no_nul
from opsdesk.core.errors import ValidationFailed

MAX_TEXT = 10_000
MAX_FRAME_BYTES = 64 * 1024
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
Role = Literal["visitor", "agent"]
RATINGS = ("good", "bad")


@dataclass(frozen=True)
class Hello:
    last_seq: int
    token: str | None = None  # the visitor's bearer token; agents are signed in by their session


@dataclass(frozen=True)
class Send:
    client_id: str
    text: str


@dataclass(frozen=True)
class Typing:
    on: bool


@dataclass(frozen=True)
class Read:
    seq: int


@dataclass(frozen=True)
class End:
    pass


@dataclass(frozen=True)
class Accept:
    pass


@dataclass(frozen=True)
class Transfer:
    to_agent_id: int | None
    to_group_id: int | None


@dataclass(frozen=True)
class Rate:
    """The end-of-chat rating the widget offers; the surveys package stores it (``csat_received``)."""

    rating: str
    comment: str | None


@dataclass(frozen=True)
class Ping:
    pass


Frame = Hello | Send | Typing | Read | End | Accept | Transfer | Rate | Ping
_VISITOR_TYPES = {"hello", "send", "typing", "read", "end", "rate", "ping"}
_AGENT_TYPES = {"hello", "send", "typing", "read", "end", "accept", "transfer", "ping"}


def _int(data: dict[str, Any], field: str, *, optional: bool = False) -> int | None:
    value = data.get(field)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise ValidationFailed(f"{field} must be a whole number from 0 to {MAX_ID}", field=field)
    return value


def _text(data: dict[str, Any], field: str, limit: int) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text", field=field)
    try:
        no_nul(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field}: {exc}", field=field) from None
    if len(value) > limit:
        raise ValidationFailed(f"{field} is longer than {limit} characters", field=field)
    return value


def parse_frame(raw: str | bytes, role: Role) -> Frame:
    """The frame ``raw`` holds, or ValidationFailed naming what is wrong (the socket stays open)."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ValidationFailed(f"a frame is at most {MAX_FRAME_BYTES} bytes", field="frame")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("a frame must be a JSON object", field="frame") from None
    if not isinstance(data, dict):
        raise ValidationFailed("a frame must be a JSON object", field="frame")
    kind = data.get("type")
    allowed = _VISITOR_TYPES if role == "visitor" else _AGENT_TYPES
    if kind not in allowed:
        raise ValidationFailed(f"unknown frame type for a {role}: {kind!r}", field="type")
    if kind == "hello":
        token = data.get("token")
        if role == "visitor":
            token = _text(data, "token", 200)
        return Hello(last_seq=_int(data, "last_seq") or 0, token=token if isinstance(token, str) else None)
    if kind == "send":
        client_id = _text(data, "client_id", 64)
        if not CLIENT_ID.match(client_id):
            raise ValidationFailed("client_id is 1-64 letters, digits or _.:-", field="client_id")
        text = _text(data, "text", MAX_TEXT).strip()
        if not text:
            raise ValidationFailed("a message needs some text", field="text")
        return Send(client_id=client_id, text=text)
    if kind == "typing":
        return Typing(on=bool(data.get("on")))
    if kind == "read":
        return Read(seq=_int(data, "seq") or 0)
    if kind == "transfer":
        agent = _int(data, "to_agent_id", optional=True)
        group = _int(data, "to_group_id", optional=True)
        if (agent is None) == (group is None):
            raise ValidationFailed("transfer to_agent_id or to_group_id, one of them", field="to_agent_id")
        return Transfer(to_agent_id=agent, to_group_id=group)
    if kind == "rate":
        rating = data.get("rating")
        if rating not in RATINGS:
            raise ValidationFailed("rating is 'good' or 'bad'", field="rating")
        comment = _text(data, "comment", 2000) if data.get("comment") is not None else None
        return Rate(rating=str(rating), comment=comment)
    if kind == "end":
        return End()
    if kind == "accept":
        return Accept()
    return Ping()


def message_frame(
    *,
    seq: int,
    client_id: str,
    sender: str,
    author: str,
    text: str,
    at: datetime,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "attachments": attachments or [],
        "type": "message",
        "seq": seq,
        "client_id": client_id,
        "sender": sender,
        "author": author,
        "text": text,
        "at": at.isoformat(),
    }


def error_frame(error: ValidationFailed | Exception, field: str | None = None) -> dict[str, Any]:
    return {"type": "error", "message": str(getattr(error, "message", error)), "field": field}


def missing_seqs(seen: set[int], last: int) -> list[int]:
    """Gaps a client should ask for again: pub/sub may drop a frame, the database never does."""
    return [n for n in range(1, last + 1) if n not in seen]
