"""Reads on people and access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from opsdesk.core.clock import Clock
from opsdesk.core.config_versions import remember_versions, riding_columns, riding_names
from opsdesk.core.errors import NotFound
from opsdesk.core.models import ApiToken, AuditEntry, BrowserSession, Identity, IdentityKind, Role, User
from opsdesk.core.normalise import normalise_identity
from opsdesk.core.secrets import hash_token


def user_by_email_or_none(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def user_by_email(session: Session, email: str) -> User:
    user = user_by_email_or_none(session, email)
    if user is None:
        raise NotFound(f"no user with email {email}", field="email")
    return user


def person_by_identity(session: Session, kind: IdentityKind, value: str) -> User | None:
    """The person (following merges) who owns this identity, if any."""
    identity = session.scalar(
        select(Identity).where(Identity.kind == kind, Identity.value == normalise_identity(kind, value))
    )
    if identity is None:
        return None
    user = identity.user
    while user.merged_into_id is not None:
        user = session.get_one(User, user.merged_into_id)
    return user


# These run before every request: each reads the token (or browser session) with its user, and the
# configuration versions the request's caches check (config_versions.ride_on_authentication), in one
# round trip. The statements are built once per set of versions (building one, loader options and
# cache key included, costs more than running it).
@cache
def _token_with_user(names: tuple[str, ...]) -> Select[Any]:
    return (
        select(ApiToken, *riding_columns(names))
        .join(ApiToken.user)
        .options(contains_eager(ApiToken.user))
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


@cache
def _browser_session(names: tuple[str, ...]) -> Select[Any]:
    return select(BrowserSession, *riding_columns(names)).where(
        BrowserSession.id_hash == bindparam("id_hash")
    )


def _authenticating(
    session: Session, statement: Callable[[tuple[str, ...]], Select[Any]], params: dict[str, str]
) -> Any:
    """The row an authentication query finds (or None), keeping the versions that ride on it."""
    names = riding_names()
    found = session.execute(statement(names), params).one_or_none()
    if found is None:
        return None
    remember_versions(session, names, found[1:])
    return found[0]


# last_used_at is written at most this often per token, so a busy integration's requests add no write.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
# Where user_for_token leaves (token id, time) when the token's last use is due to be written; the
# caller writes it (core.actions.record_token_use) in a transaction of its own, so a read-only request,
# whose transaction is rolled back, keeps no write and the authentication query stays one statement.
TOKEN_USE_DUE = "opsdesk_token_use_due"


def user_for_token(session: Session, token: str, clock: Clock) -> User | None:
    row: ApiToken | None = _authenticating(session, _token_with_user, {"token_hash": hash_token(token)})
    now = clock.now()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or row.last_used_at <= now - TOKEN_USE_RESOLUTION:
        session.info[TOKEN_USE_DUE] = (row.id, now)
    return row.user


def token_status(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    if not token.user.active:
        return "user deactivated"
    return "active"


def tokens(session: Session, *, user: User | None = None) -> list[ApiToken]:
    """API tokens with their users, newest first; one person's when ``user`` is given."""
    statement = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    if user is not None:
        statement = statement.where(ApiToken.user_id == user.id)
    return list(session.scalars(statement))


def staff_with_last_sign_in(session: Session) -> list[tuple[User, datetime | None]]:
    """Every person who is not a requester, with the time of their last sign-in (from the audit log)."""
    last = (
        select(AuditEntry.actor_id, func.max(AuditEntry.at).label("at"))
        .where(AuditEntry.action == "signed_in")
        .group_by(AuditEntry.actor_id)
        .subquery()
    )
    rows = session.execute(
        select(User, last.c.at)
        .outerjoin(last, last.c.actor_id == User.id)
        .where(User.role != Role.REQUESTER)
        .order_by(User.name, User.id)
    ).all()
    return [(user, at) for user, at in rows]


def browser_session(session: Session, cookie: str, clock: Clock) -> BrowserSession | None:
    row: BrowserSession | None = _authenticating(session, _browser_session, {"id_hash": hash_token(cookie)})
    if row is None or row.expires_at <= clock.now() or not row.user.active:
        return None
    return row


T = TypeVar("T")


def get_or_not_found(
    session: Session, model: type[T], record_id: int, what: str, *, field: str | None = None
) -> T:
    """The row with this primary key, or NotFound("no <what> <id>") naming the field when given."""
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(f"no {what} {record_id}", field=field)
    return row
