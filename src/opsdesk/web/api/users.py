"""/api/v1/users: the signed-in person, the people staff work with, and requester identities and merges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from opsdesk.core import actions as core_actions
from opsdesk.core import permissions
from opsdesk.core.errors import NotFound
from opsdesk.core.models import Organisation, Role, Site
from opsdesk.desk import queries, requesters
from opsdesk.desk.schemas import MAX_ID, IdentityIn, UserCreate, UserMergeIn, UserOut, UserPageOut
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["users"], route_class=BoundedBodyRoute)
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/users/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.get("/users", response_model=UserPageOut)
def list_users(
    user: CurrentUser,
    session: SessionDep,
    role: Role | None = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
) -> UserPageOut:
    page = queries.list_users(
        session, viewer=user, role=role, organisation_id=organisation_id, cursor=cursor, limit=limit
    )
    return UserPageOut(items=[UserOut.of(u) for u in page.items], next_cursor=page.next_cursor)


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: UserCreate, user: CurrentUser, session: SessionDep, clock: ClockDep) -> UserOut:
    permissions.require(user, permissions.USER_MANAGE)
    organisation = session.get(Organisation, body.organisation_id) if body.organisation_id else None
    if body.organisation_id and organisation is None:
        raise NotFound(f"no organisation {body.organisation_id}", field="organisation_id")
    site = session.get(Site, body.site_id) if body.site_id else None
    if body.site_id and site is None:
        raise NotFound(f"no site {body.site_id}", field="site_id")
    created = core_actions.create_user(
        session,
        email=body.email,
        name=body.name,
        role=body.role,
        tier=body.tier,
        password=body.password,
        organisation=organisation,
        site=site,
        languages=body.languages,
        skills=body.skills,
        clock=clock,
        actor=user,
    )
    session.commit()
    return UserOut.of(created)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: UserId, user: CurrentUser, session: SessionDep) -> UserOut:
    return UserOut.of(queries.user_for(session, user_id=user_id, viewer=user))


@router.post("/users/{user_id}/identities", status_code=201, response_model=UserOut)
def add_identity(
    user_id: UserId, body: IdentityIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> UserOut:
    """Record that this person is also reachable on another channel (support leads and admins)."""
    person = queries.user_for(session, user_id=user_id, viewer=user)
    requesters.link_identity(
        session,
        user=person,
        kind=body.kind,
        value=body.value,
        actor=user,
        clock=clock,
        confirm_cross_organisation=body.confirm_cross_organisation,
    )
    session.commit()
    session.refresh(person)
    return UserOut.of(requesters.current_person(session, person))


@router.post("/users/{user_id}/merge", response_model=UserOut)
def merge_user(
    user_id: UserId, body: UserMergeIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> UserOut:
    """Merge requester ``user_id`` into requester ``into`` (support leads and admins); the result is
    the kept person."""
    merge = queries.user_for(session, user_id=user_id, viewer=user)
    try:
        keep = queries.user_for(session, user_id=body.into, viewer=user)
    except NotFound as exc:
        raise NotFound(exc.message, field="into") from exc
    kept = requesters.merge_requesters(
        session,
        keep=keep,
        merge=merge,
        actor=user,
        clock=clock,
        confirm_cross_organisation=body.confirm_cross_organisation,
    )
    session.commit()
    session.refresh(kept)
    return UserOut.of(kept)
