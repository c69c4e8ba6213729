"""Request-scoped dependencies: the database session, the clock, the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from opsdesk.core import queries as core_queries
from opsdesk.core.clock import Clock
from opsdesk.core.database import declare_write
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.models import User
from opsdesk.core.settings import Settings

SESSION_COOKIE = "opsdesk_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Unauthenticated(OpsDeskError):
    """No valid token or session came with the request."""


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Runs on the event loop, sparing two thread-pool hops per request: opening a session does no I/O
    (it connects on first use), and after a commit closing it does none either. The thread pool takes
    what does: the write intent on SQLite (the only engine it changes anything on, by taking the write
    lock up front), and the rollback of a session an error left in a transaction."""
    session: Session = request.app.state.session_factory()
    try:
        if request.method not in SAFE_METHODS and session.get_bind().dialect.name == "sqlite":
            await run_in_threadpool(declare_write, session)
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_discard, session)
        else:
            session.close()


def _discard(session: Session) -> None:
    session.rollback()
    session.close()


# Dependencies that do no I/O are ``async def``: FastAPI runs those on the event loop instead of handing
# each to the thread pool, a hop that costs more than the work itself.


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def optional_user(request: Request, session: SessionDep, clock: ClockDep) -> User | None:
    """A bearer token (integrations) or a browser session cookie (pages; writes need the CSRF header)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return core_queries.user_for_token(session, auth[7:].strip(), clock)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    row = core_queries.browser_session(session, cookie, clock)
    if row is None:
        return None
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != row.csrf_token:
        return None
    request.state.csrf_token = row.csrf_token
    return row.user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
