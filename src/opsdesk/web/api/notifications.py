"""The caller's notices (core.notifications): list them, and mark them read."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from opsdesk.core import notifications
from opsdesk.web.api.params import QueryId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["notifications"])


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationsOut(BaseModel):
    unread: int
    items: list[NotificationOut]


class MarkedOut(BaseModel):
    marked: int


@router.get("/notifications", response_model=NotificationsOut)
def list_notifications(user: CurrentUser, session: SessionDep) -> NotificationsOut:
    """The newest 100 notices and how many are unread."""
    rows = notifications.recent(session, user.id)
    return NotificationsOut(
        unread=notifications.unread_count(session, user.id),
        items=[NotificationOut.model_validate(r, from_attributes=True) for r in rows],
    )


@router.post("/notifications/read", response_model=MarkedOut)
def mark_read(user: CurrentUser, session: SessionDep, clock: ClockDep, up_to_id: QueryId = None) -> MarkedOut:
    """Mark the caller's unread notices read: all, or those up to ``up_to_id`` (what a client showed)."""
    marked = notifications.mark_read(session, user.id, clock, up_to_id=up_to_id)
    session.commit()
    return MarkedOut(marked=marked)
