"""Every write to time off: one transaction each, with its event. Publishing an approved absence to the
routing schedule is the caller's second step in the same transaction (see web.time_off_flow), since
workforce does not write desk tables."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.workforce.time_off.models import ScheduleFeedToken, TimeOffKind, TimeOffRequest, TimeOffStatus

MAX_TIME_OFF = timedelta(days=366)
# Who has shifts to take time off from: the people routing assigns work to.
REQUESTING_ROLES = frozenset({Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN})


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _event(session: Session, request: TimeOffRequest, type: str, at: datetime, actor: User) -> None:
    append_event(
        session,
        subject_type="time_off_request",
        subject_id=request.id,
        type=type,
        at=at,
        actor=actor,
        data={
            "user_id": request.user_id,
            "kind": request.kind.value,
            "from": request.starts_at.isoformat(),
            "to": request.ends_at.isoformat(),
            "status": request.status.value,
        },
    )


def request_time_off(
    session: Session,
    *,
    agent: User,
    kind: TimeOffKind,
    starts_at: datetime,
    ends_at: datetime,
    note: str,
    clock: Clock,
) -> TimeOffRequest:
    """An agent asks for time off for themselves; it waits for a lead's decision."""
    if agent.role not in REQUESTING_ROLES:
        raise PermissionDenied("only agents and leads with shifts can request time off")
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if ends_at <= starts_at:
        raise ValidationFailed("time off must end after it starts", field="ends_at")
    if ends_at - starts_at > MAX_TIME_OFF:
        raise ValidationFailed("one request covers at most 366 days", field="ends_at")
    request = TimeOffRequest(
        user_id=agent.id,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note,
        status=TimeOffStatus.PENDING,
        requested_at=clock.now(),
    )
    session.add(request)
    session.flush()
    _event(session, request, "time_off_requested", clock.now(), agent)
    return request


def decide_time_off(
    session: Session, *, request: TimeOffRequest, approve: bool, lead: User, note: str, clock: Clock
) -> TimeOffRequest:
    """A support lead or admin approves or rejects a pending request; nobody decides their own."""
    permissions.require(lead, permissions.ROUTING_MANAGE)
    if request.user_id == lead.id:
        raise PermissionDenied("another lead decides your own time off")
    if request.status is not TimeOffStatus.PENDING:
        raise Conflict(f"this request is already {request.status.value}")
    request.status = TimeOffStatus.APPROVED if approve else TimeOffStatus.REJECTED
    request.decided_by_id = lead.id
    request.decided_at = clock.now()
    request.decision_note = note
    session.flush()
    _event(session, request, "time_off_approved" if approve else "time_off_rejected", clock.now(), lead)
    return request


def feed_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def regenerate_feed_token(session: Session, *, user: User, clock: Clock) -> str:
    """A new secret for the user's calendar feed, returned once in clear; the old one stops working."""
    token = secrets.token_urlsafe(32)
    row = session.get(ScheduleFeedToken, user.id)
    if row is None:
        row = ScheduleFeedToken(user_id=user.id)
        session.add(row)
    row.token_sha256 = feed_token_digest(token)
    row.created_at = clock.now()
    session.flush()
    append_event(
        session,
        subject_type="user",
        subject_id=user.id,
        type="schedule_feed_token_regenerated",
        at=clock.now(),
        actor=user,
    )
    return token
