"""/api/v1/tokens and user (de)activation: everyone manages their own API tokens; admins everyone's,
and who may sign in at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from opsdesk.core import actions as core_actions
from opsdesk.core import permissions
from opsdesk.core import queries as core_queries
from opsdesk.core.errors import NotFound, PermissionDenied
from opsdesk.core.models import ApiToken, User
from opsdesk.core.schemas import MAX_ID, TokenCreate, TokenCreatedOut, TokenOut
from opsdesk.desk.schemas import UserOut
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["access"], route_class=BoundedBodyRoute)
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _person(session: SessionDep, user_id: int, field: str) -> User:
    return core_queries.get_or_not_found(session, User, user_id, "user", field=field)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Whose tokens (admins)")] = None,
) -> list[TokenOut]:
    """Your tokens; an admin's list holds everyone's (or ``user_id``'s)."""
    manages = permissions.has(user, permissions.USER_MANAGE)
    if user_id is not None and user_id != user.id and not manages:
        raise PermissionDenied("only an admin may list another person's tokens")
    owner = _person(session, user_id, "user_id") if user_id is not None else (None if manages else user)
    now = clock.now()
    return [
        TokenOut.of(t, core_queries.token_status(t, now)) for t in core_queries.tokens(session, user=owner)
    ]


@router.post("/tokens", status_code=201, response_model=TokenCreatedOut)
def create_token(
    body: TokenCreate, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TokenCreatedOut:
    """A new token for you (or, for an admin, for ``user_id``); its value is shown only here."""
    owner = user
    if body.user_id is not None and body.user_id != user.id:
        permissions.require(user, permissions.USER_MANAGE)
        owner = _person(session, body.user_id, "user_id")
    lifetime = None if body.never_expires else timedelta(days=body.expires_in_days)
    token, clear = core_actions.create_api_token(
        session, user=owner, name=body.name, clock=clock, actor=user, expires_in=lifetime
    )
    session.commit()
    out = TokenOut.of(token, core_queries.token_status(token, clock.now()))
    return TokenCreatedOut(**out.model_dump(), token=clear)


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke_token(token_id: TokenId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> TokenOut:
    """Ends the token at once (your own, or anyone's for an admin)."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not permissions.has(user, permissions.USER_MANAGE)):
        raise NotFound(f"no API token {token_id}", field="token_id")
    core_actions.revoke_api_token(session, token=token, clock=clock, actor=user)
    session.commit()
    return TokenOut.of(token, core_queries.token_status(token, clock.now()))


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate_user(user_id: UserId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> UserOut:
    """No more sign-in; the person's browser sessions end and their tokens are revoked, at once."""
    permissions.require(user, permissions.USER_MANAGE)
    person = core_actions.deactivate_user(
        session, user=_person(session, user_id, "user_id"), clock=clock, actor=user
    )
    session.commit()
    return UserOut.of(person)


@router.post("/users/{user_id}/reactivate", response_model=UserOut)
def reactivate_user(user_id: UserId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> UserOut:
    """The person may sign in again; tokens revoked on deactivation stay revoked."""
    permissions.require(user, permissions.USER_MANAGE)
    person = core_actions.reactivate_user(
        session, user=_person(session, user_id, "user_id"), clock=clock, actor=user
    )
    session.commit()
    return UserOut.of(person)
