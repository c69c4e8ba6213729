"""Request-scoped dependencies: the database session, the clock, the signed-in user."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core import queries as core_queries
from opsdesk.core.clock import Clock
from opsdesk.core.database import declare_write, transaction
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.web.connection_gate import ConnectionGate

log = logging.getLogger(__name__)
SESSION_COOKIE = "opsdesk_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Unauthenticated(OpsDeskError):
    """No valid token or session came with the request."""


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Runs on the event loop, sparing two thread-pool hops per request: opening a session does no I/O
    (it connects on first use), and after a commit closing it does none either. The thread pool takes
    what does: the write intent on SQLite (the only engine it changes anything on, by taking the write
    lock up front), and the rollback of a session an error left in a transaction.

    The request first takes a slot of the connection gate (see web.connection_gate), so its statements
    never wait for the pool, and gives it back once its connection is. Declared with the function
    scope, the session closes as soon as the response is rendered, before it is sent: a slow reader or
    a keep-alive client never holds a connection, "idle in transaction", after its answer."""
    gate: ConnectionGate | None = request.app.state.connection_gate
    if gate is not None:
        await gate.enter()
    token_use = None
    try:
        session: Session = request.app.state.session_factory()
        try:
            if request.method not in SAFE_METHODS and session.get_bind().dialect.name == "sqlite":
                await run_in_threadpool(declare_write, session)
            yield session
        finally:
            token_use = session.info.pop(core_queries.TOKEN_USE_DUE, None)
            if session.in_transaction():
                await run_in_threadpool(_discard, session)
            else:
                session.close()
    finally:
        if gate is not None:
            gate.leave()
    if token_use is not None:
        await run_in_threadpool(_record_token_use, request.app.state.session_factory, token_use)


def _discard(session: Session) -> None:
    session.rollback()
    session.close()


def _record_token_use(factory: sessionmaker[Session], token_use: tuple[int, datetime]) -> None:
    """A token's last use, at most once a minute per token (core.queries.user_for_token), in its own
    transaction after the request's: a read's transaction is rolled back, and a write's must not
    wait on it. Losing one such write loses nothing a later request will not write again."""
    token_id, at = token_use
    try:
        with transaction(factory) as session:
            core_actions.record_token_use(session, token_id=token_id, at=at)
    except SQLAlchemyError:
        log.warning("could not record the use of API token %s", token_id, exc_info=True)


# Dependencies that do no I/O are ``async def``: FastAPI runs those on the event loop instead of handing
# each to the thread pool, a hop that costs more than the work itself.


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
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


_SIGN_IN = "sign in, or send an API token as 'Authorization: Bearer <token>'"


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthenticated(_SIGN_IN)
    return user


CurrentUser = Annotated[User, Depends(current_user)]

T = TypeVar("T")


async def credentials_sent(request: Request) -> None:
    """For routes that authenticate with :func:`run_as_user`: a request with no token and no session
    cookie is refused at once, before its body is parsed, as ``CurrentUser`` routes refuse it."""
    if not request.headers.get("authorization") and SESSION_COOKIE not in request.cookies:
        raise Unauthenticated(_SIGN_IN)


Authenticates = Depends(credentials_sent)


async def run_as_user(
    request: Request, session: Session, clock: Clock, work: Callable[[User], T], *, inline: bool
) -> T:
    """Authenticates the request and runs ``work`` for its user as one piece of work, for the
    single-ticket API operations that integrations call at high rates.

    With ``CurrentUser`` and a sync endpoint, FastAPI hands the token check and the endpoint to the
    thread pool separately, and each database round trip then trades the GIL with the event loop. Here
    the work takes one thread-pool hop, or none: when the app runs short work inline (PostgreSQL) and
    the caller vouches for ``inline`` (a few indexed statements, no file or network I/O besides the
    database, and no wait on another transaction's row locks, as a ticket creation without attachments
    or a read), it runs on the event loop, as a request does in a synchronous worker process. Measured
    with 8 clients on 5 workers (benchmarks/desk_api.py), that raised ticket creations by about a
    sixth over one hop, and one hop alone did little over two. Work that updates an existing ticket
    waits for its row lock, which a batch job may hold for a while, so it keeps the hop: on the event
    loop that wait would stall every request on the worker. So does everything on SQLite, whose writers
    may wait seconds for the write lock. Inline work never waits for a connection: the request holds
    a slot of the connection gate (see :func:`get_session`), so the pool has one ready for it."""

    def authenticated() -> T:
        user = optional_user(request, session, clock)
        if user is None:
            raise Unauthenticated(_SIGN_IN)
        return work(user)

    if inline and request.app.state.inline_short_work:
        return authenticated()
    return await run_in_threadpool(authenticated)
