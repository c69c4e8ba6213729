"""Writes on people, organisations, groups and access. Each runs inside the caller's transaction and
appends its event or audit row there."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from opsdesk.core import audit
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import (
    ApiToken,
    BrowserSession,
    Group,
    Identity,
    IdentityKind,
    Organisation,
    Role,
    Site,
    Tier,
    User,
)
from opsdesk.core.normalise import normalise_identity
from opsdesk.core.queries import TOKEN_USE_RESOLUTION
from opsdesk.core.secrets import hash_password, hash_token, new_token

SESSION_LIFETIME = timedelta(hours=12)
# A token ends after this unless its creator chooses otherwise (``expires_in=None`` for never).
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)


def create_user(
    session: Session,
    *,
    email: str | None,
    name: str,
    role: Role,
    clock: Clock,
    tier: Tier | None = None,
    password: str | None = None,
    organisation: Organisation | None = None,
    site: Site | None = None,
    languages: list[str] | None = None,
    skills: list[str] | None = None,
    actor: User | None = None,
) -> User:
    if role is Role.AGENT and tier is None:
        raise ValidationFailed("an agent needs a tier (L1 or L2)", field="tier")
    if role is not Role.AGENT and tier is not None:
        raise ValidationFailed("only agents have a tier", field="tier")
    address = normalise_identity(IdentityKind.EMAIL, email) if email else None
    if address and session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(f"a user with email {address} already exists", field="email")
    user = User(
        email=address,
        name=name or (address or "Unknown"),
        role=role,
        tier=tier,
        password_hash=hash_password(password) if password else None,
        organisation=organisation,
        site=site,
        languages=languages or [],
        skills=skills or [],
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    if address:
        session.add(Identity(user_id=user.id, kind=IdentityKind.EMAIL, value=address, created_at=clock.now()))
    append_event(
        session,
        subject_type="user",
        subject_id=user.id,
        type="user_created",
        at=clock.now(),
        actor=actor,
        data={"role": role.value, "tier": tier.value if tier else None},
    )
    if role is not Role.REQUESTER:
        audit.record(
            session,
            actor=actor,
            action="user_created",
            subject_type="user",
            subject_id=user.id,
            at=clock.now(),
            detail={"role": role.value},
        )
    return user


def set_password(session: Session, *, user: User, password: str, clock: Clock, actor: User | None) -> None:
    if len(password) < 10:
        raise ValidationFailed("a password needs at least 10 characters", field="password")
    user.password_hash = hash_password(password)
    audit.record(
        session, actor=actor, action="password_set", subject_type="user", subject_id=user.id, at=clock.now()
    )


def set_timezone(session: Session, *, user: User, timezone: str | None, clock: Clock) -> None:
    """The zone the user's pages show times in; None goes back to the default (the site's zone, else
    the browser's)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(f"unknown time zone {timezone!r}", field="timezone") from exc
    if timezone != user.timezone:
        before, user.timezone = user.timezone, timezone
        append_event(
            session,
            subject_type="user",
            subject_id=user.id,
            type="timezone_changed",
            at=clock.now(),
            actor=user,
            data={"from": before, "to": timezone},
        )


def add_identity(session: Session, *, user: User, kind: IdentityKind, value: str, clock: Clock) -> Identity:
    normalised = normalise_identity(kind, value)
    existing = session.scalar(select(Identity).where(Identity.kind == kind, Identity.value == normalised))
    if existing is not None:
        if existing.user_id == user.id:
            return existing
        raise Conflict(
            f"{kind.value} {normalised} belongs to another person; merge them instead", field="value"
        )
    identity = Identity(user_id=user.id, kind=kind, value=normalised, created_at=clock.now())
    session.add(identity)
    if kind is IdentityKind.EMAIL and user.email is None:
        user.email = normalised
    session.flush()
    append_event(
        session,
        subject_type="user",
        subject_id=user.id,
        type="identity_added",
        at=clock.now(),
        data={"kind": kind.value, "value": normalised},
    )
    return identity


def create_api_token(
    session: Session,
    *,
    user: User,
    name: str,
    clock: Clock,
    actor: User | None = None,
    expires_in: timedelta | None = DEFAULT_TOKEN_LIFETIME,
) -> tuple[ApiToken, str]:
    """Returns the row and the clear token, which is never stored and cannot be shown again."""
    if not user.active:
        raise Conflict(f"{user.email or user.name} is deactivated", field="user")
    if not name.strip() or len(name) > 100 or "\x00" in name:
        raise ValidationFailed("a token's name has 1 to 100 characters, without NUL", field="name")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValidationFailed("a token's lifetime must be positive", field="expires_in")
    clear = new_token()
    now = clock.now()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(clear),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_token_created",
        subject_type="user",
        subject_id=user.id,
        at=now,
        detail={"token_id": token.id, "name": name, "expires_at": _iso(token.expires_at)},
    )
    return token, clear


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def revoke_api_token(session: Session, *, token: ApiToken, clock: Clock, actor: User | None) -> ApiToken:
    """Ends the token at once; revoking one already revoked changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(
            session,
            actor=actor,
            action="api_token_revoked",
            subject_type="user",
            subject_id=token.user_id,
            at=token.revoked_at,
            detail={"token_id": token.id, "name": token.name},
        )
    return token


def record_token_use(session: Session, *, token_id: int, at: datetime) -> None:
    """Writes a token's last use unless a request (on any worker) wrote a recent one already."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= at - TOKEN_USE_RESOLUTION),
        )
        .values(last_used_at=at)
    )


def deactivate_user(session: Session, *, user: User, clock: Clock, actor: User | None) -> User:
    """The person can no longer sign in; their browser sessions end and their tokens are revoked, now."""
    if actor is not None and actor.id == user.id:
        raise Conflict("you cannot deactivate yourself", field="user")
    now = clock.now()
    user.active = False
    ended = session.scalars(
        delete(BrowserSession).where(BrowserSession.user_id == user.id).returning(BrowserSession.id_hash)
    ).all()
    revoked = session.scalars(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiToken.id)
    ).all()
    audit.record(
        session,
        actor=actor,
        action="user_deactivated",
        subject_type="user",
        subject_id=user.id,
        at=now,
        detail={"sessions_ended": len(ended), "tokens_revoked": sorted(revoked)},
    )
    append_event(
        session, subject_type="user", subject_id=user.id, type="user_deactivated", at=now, actor=actor
    )
    return user


def reactivate_user(session: Session, *, user: User, clock: Clock, actor: User | None) -> User:
    """The person may sign in again; revoked tokens stay revoked (create new ones)."""
    if not user.active:
        user.active = True
        now = clock.now()
        audit.record(
            session, actor=actor, action="user_reactivated", subject_type="user", subject_id=user.id, at=now
        )
        append_event(
            session, subject_type="user", subject_id=user.id, type="user_reactivated", at=now, actor=actor
        )
    return user


def start_browser_session(session: Session, *, user: User, clock: Clock) -> tuple[BrowserSession, str]:
    """Returns the row and the cookie value."""
    cookie = secrets.token_urlsafe(32)
    row = BrowserSession(
        id_hash=hash_token(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=clock.now(),
        expires_at=clock.now() + SESSION_LIFETIME,
    )
    session.add(row)
    audit.record(
        session, actor=user, action="signed_in", subject_type="user", subject_id=user.id, at=clock.now()
    )
    return row, cookie


def end_browser_session(session: Session, *, cookie: str) -> None:
    row = session.get(BrowserSession, hash_token(cookie))
    if row is not None:
        session.delete(row)


def create_organisation(
    session: Session,
    *,
    name: str,
    clock: Clock,
    domain: str | None = None,
    external_id: str | None = None,
    shared_tickets: bool = False,
    tags: list[str] | None = None,
) -> Organisation:
    org = Organisation(
        name=name,
        domain=domain.lower() if domain else None,
        external_id=external_id,
        shared_tickets=shared_tickets,
        tags=tags or [],
        created_at=clock.now(),
    )
    session.add(org)
    session.flush()
    append_event(
        session, subject_type="organisation", subject_id=org.id, type="organisation_created", at=clock.now()
    )
    return org


def create_site(session: Session, *, name: str, timezone: str) -> Site:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {timezone!r}", field="timezone") from exc
    site = Site(name=name, timezone=timezone)
    session.add(site)
    session.flush()
    return site


def create_group(
    session: Session, *, name: str, tier: Tier | None = None, sensitive_access: bool = False
) -> Group:
    group = Group(name=name, tier=tier, sensitive_access=sensitive_access, members=[])
    session.add(group)
    session.flush()
    return group


def add_to_group(
    session: Session, *, group: Group, user: User, clock: Clock, actor: User | None = None
) -> None:
    if user not in group.members:
        group.members.append(user)
        audit.record(
            session,
            actor=actor,
            action="group_member_added",
            subject_type="group",
            subject_id=group.id,
            at=clock.now(),
            detail={"user_id": user.id},
        )
