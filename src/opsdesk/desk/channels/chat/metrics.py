"""Chat times from a ticket's event log, as support leaders define them for chat (Zendesk's chat
metrics): wait is started -> first agent joined; first response is started -> first public agent
message; handle time is first agent joined -> ended. Pure: events in, seconds out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ChatTimes:
    wait_s: float | None
    first_response_s: float | None
    handle_s: float | None


def chat_times(events: Iterable[tuple[str, datetime, dict[str, Any]]]) -> ChatTimes:
    """``events`` are (type, at, data) of one ticket in log order; None where the chat never got there."""
    started = joined = answered = ended = None
    for kind, at, data in events:
        if kind == "chat_started" and started is None:
            started = at
        elif kind == "chat_agent_joined" and joined is None and started is not None:
            joined = at
        elif (
            kind == "message_added"
            and answered is None
            and started is not None
            and data.get("author_kind") == "agent"
            and data.get("public")
        ):
            answered = at
        elif kind == "chat_ended" and ended is None and started is not None:
            ended = at

    def span(a: datetime | None, b: datetime | None) -> float | None:
        return (b - a).total_seconds() if a is not None and b is not None else None

    return ChatTimes(
        wait_s=span(started, joined), first_response_s=span(started, answered), handle_s=span(joined, ended)
    )
