"""Reads on people and access."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, contains_eager

from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound
from opsdesk.core.models import ApiToken, BrowserSession, Identity, IdentityKind, User
from opsdesk.core.normalise import normalise_identity
from opsdesk.core.secrets import hash_token


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
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


# The token and its user in one round trip: this runs before every API request, so the statement is
# also built once (building it, loader options and cache key included, cost more than running it).
_TOKEN_WITH_USER = (
    select(ApiToken)
    .join(ApiToken.user)
    .options(contains_eager(ApiToken.user))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_for_token(session: Session, token: str, clock: Clock) -> User | None:
    row = session.scalar(_TOKEN_WITH_USER, {"token_hash": hash_token(token)})
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user


def browser_session(session: Session, cookie: str, clock: Clock) -> BrowserSession | None:
    row = session.get(BrowserSession, hash_token(cookie))
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
