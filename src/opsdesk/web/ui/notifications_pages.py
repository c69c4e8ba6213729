"""/notifications: the signed-in staff member's notices (core.notifications), newest first; opening the
page marks what it shows as read. /notifications/unread feeds the count in the navigation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from opsdesk.core import notifications
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffPageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/notifications")
def notifications_page(
    request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep
) -> Response:
    shown = notifications.recent(session, user.id)
    unread = {n.id for n in shown if n.read_at is None}
    if shown:
        notifications.mark_read(session, user.id, clock, up_to_id=shown[0].id)
        session.commit()
    return page(request, "notifications.html", user, shown=shown, unread=unread)


@router.get("/notifications/unread")
def unread(user: StaffPageUser, session: SessionDep) -> JSONResponse:
    return JSONResponse({"unread": notifications.unread_count(session, user.id)})
