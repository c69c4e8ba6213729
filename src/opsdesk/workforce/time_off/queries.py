"""Reads of time off: one agent's requests, and what waits for a lead."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.workforce.time_off.actions import feed_token_digest
from opsdesk.workforce.time_off.models import ScheduleFeedToken, TimeOffRequest, TimeOffStatus

MAX_LISTED = 500


def requests_of(
    session: Session, user: User, *, ends_after: datetime | None = None
) -> Sequence[TimeOffRequest]:
    query = select(TimeOffRequest).where(TimeOffRequest.user_id == user.id)
    if ends_after is not None:
        query = query.where(TimeOffRequest.ends_at > ends_after)
    return session.scalars(query.order_by(TimeOffRequest.starts_at.desc()).limit(MAX_LISTED)).all()


def requests_with_status(session: Session, status: TimeOffStatus) -> Sequence[TimeOffRequest]:
    return session.scalars(
        select(TimeOffRequest)
        .options(joinedload(TimeOffRequest.user))
        .where(TimeOffRequest.status == status)
        .order_by(TimeOffRequest.starts_at, TimeOffRequest.id)
        .limit(MAX_LISTED)
    ).all()


def request_by_id(session: Session, request_id: int) -> TimeOffRequest:
    request = session.get(TimeOffRequest, request_id)
    if request is None:
        raise NotFound("no such time-off request")
    return request


def user_for_feed_token(session: Session, token: str) -> User | None:
    """The active user whose calendar feed this secret opens, if any."""
    return session.scalars(
        select(User)
        .join(ScheduleFeedToken, ScheduleFeedToken.user_id == User.id)
        .where(ScheduleFeedToken.token_sha256 == feed_token_digest(token), User.active.is_(True))
    ).one_or_none()


def has_feed_token(session: Session, user: User) -> bool:
    return session.get(ScheduleFeedToken, user.id) is not None
