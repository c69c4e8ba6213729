"""Arranging chats for tests, through the real actions."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.desk.channels.chat import actions
from opsdesk.desk.channels.chat.actions import Started


def visitor_id() -> str:
    return "v-" + secrets.token_hex(12)


def start(
    db: Session, clock: Clock, *, text: str = "Hello, my card was declined", email: str | None = None
) -> Started:
    started = actions.start_chat(
        db,
        visitor_id=visitor_id(),
        name="Ada Visitor",
        email=email,
        language="en",
        text=text,
        client_id="c-1",
        clock=clock,
    )
    db.commit()
    return started
