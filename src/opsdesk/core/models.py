"""Tables shared by every domain: people, organisations, groups, sites, access, the event and audit logs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.roles import Role, Tier

BigId = BigInteger().with_variant(Integer, "sqlite")


class IdentityKind(enum.StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    SOCIAL = "social"


def enum_column(kind: type[enum.Enum], name: str) -> Enum:
    """Enums stored as their values in a VARCHAR, so adding a member needs no ALTER TYPE."""
    return Enum(kind, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class Organisation(Base):
    """A customer company. Its members may share each other's tickets when ``shared_tickets`` is set."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    domain: Mapped[str | None] = mapped_column(String(200), index=True)
    shared_tickets: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]


class Site(Base):
    """A place agents work from, with the zone its calendars and shifts are evaluated in."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))


group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Group(Base):
    """A team of agents. ``sensitive_access`` marks the need-to-know groups that may read PHI tickets."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    tier: Mapped[Tier | None] = mapped_column(enum_column(Tier, "tier"))
    sensitive_access: Mapped[bool] = mapped_column(Boolean, default=False)
    members: Mapped[list[User]] = relationship(secondary=group_members, back_populates="groups")


class User(Base):
    """Staff and requesters alike; a requester's channel identities hang off it."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), index=True)
    tier: Mapped[Tier | None] = mapped_column(enum_column(Tier, "tier"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    # The IANA zone pages show times in; unset means the site's zone, else the browser's (web.ui.zones).
    timezone: Mapped[str | None] = mapped_column(String(64))
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    organisation: Mapped[Organisation | None] = relationship()
    site: Mapped[Site | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=group_members, back_populates="members")
    identities: Mapped[list[Identity]] = relationship(back_populates="user", foreign_keys="Identity.user_id")

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.REQUESTER


class Identity(Base):
    """One way to reach a person (an address, a chat visitor id, a phone number, a social handle)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind, "identity_kind"))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="identities", foreign_keys=[user_id])


class ApiToken(Base):
    """A hashed bearer token; the clear value is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class BrowserSession(Base):
    """A signed-in browser. The cookie carries a random id; only its hash is stored."""

    __tablename__ = "browser_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class SignInThrottle(Base):
    """Sign-in attempts counted per account or per client address in a fixed window, shared by every
    web worker process (see ``core/sign_in.py``)."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)


class Event(Base):
    """One state change, appended in the same transaction as the change; never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id", "id"),
        Index("ix_events_type_at", "type", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(BigId)
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class AuditEntry(Base):
    """Who read or changed what, for the access review a healthcare customer will ask for."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


@event.listens_for(Session, "before_flush")
def _logs_are_append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Event | AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError(f"{type(obj).__name__} rows are append-only")
