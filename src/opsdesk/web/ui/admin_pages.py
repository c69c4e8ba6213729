"""The admin's access page: who may sign in (deactivate, reactivate) and every API token (revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import actions as core_actions
from opsdesk.core import permissions
from opsdesk.core import queries as core_queries
from opsdesk.core.models import ApiToken, User
from opsdesk.core.schemas import MAX_ID
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page, templates

router = APIRouter(include_in_schema=False)
templates.env.globals["has_permission"] = permissions.has
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
BACK = "/admin/access"


@router.get("/admin/access")
def access_page(request: Request, user: PageUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.USER_MANAGE)
    now = clock.now()
    tokens = [(token, core_queries.token_status(token, now)) for token in core_queries.tokens(session)]
    return page(
        request,
        "admin/access.html",
        user,
        people=core_queries.staff_with_last_sign_in(session),
        tokens=tokens,
    )


@router.post("/admin/users/{user_id}/deactivate")
def deactivate(user_id: RecordId, user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.USER_MANAGE)
    person = core_queries.get_or_not_found(session, User, user_id, "user")
    core_actions.deactivate_user(session, user=person, clock=clock, actor=user)
    session.commit()
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/users/{user_id}/reactivate")
def reactivate(user_id: RecordId, user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.USER_MANAGE)
    person = core_queries.get_or_not_found(session, User, user_id, "user")
    core_actions.reactivate_user(session, user=person, clock=clock, actor=user)
    session.commit()
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke(token_id: RecordId, user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    permissions.require(user, permissions.USER_MANAGE)
    token = core_queries.get_or_not_found(session, ApiToken, token_id, "API token")
    core_actions.revoke_api_token(session, token=token, clock=clock, actor=user)
    session.commit()
    return RedirectResponse(BACK, status_code=303)
