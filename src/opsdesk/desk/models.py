"""Tickets, their messages and attachments, and the keys that make inbound work idempotent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import Group, Organisation, Site, Tier, User, enum_column


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


UNSOLVED = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketType(enum.StrEnum):
    QUESTION = "question"
    INCIDENT = "incident"
    PROBLEM = "problem"
    TASK = "task"


class Channel(enum.StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    SOCIAL = "social"
    WEB = "web"
    API = "api"


class AuthorKind(enum.StrEnum):
    """Who wrote a message, as the KPIs need it: bot and system replies never stop a reply clock."""

    REQUESTER = "requester"
    AGENT = "agent"
    SYSTEM = "system"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_group", "status", "group_id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        # "My tickets" lists an agent's tickets newest first: this walks only theirs, in that order.
        Index("ix_tickets_assignee_newest", "assignee_id", "id"),
        Index("ix_tickets_solved_at", "solved_at"),
        Index("ix_tickets_sla_due", "sla_next_due_at"),
        Index("ix_tickets_sla_check", "sla_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[Status] = mapped_column(enum_column(Status, "ticket_status"), default=Status.NEW)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "priority"), default=Priority.NORMAL)
    type: Mapped[TicketType | None] = mapped_column(enum_column(TicketType, "ticket_type"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, "tier"), default=Tier.L1)
    # Why the ticket is at its tier: the latest escalation's reason while with L2, and the reason L2 sent
    # it back while with L1 again (the event log keeps every one).
    escalation_reason: Mapped[str | None] = mapped_column(String(2000))
    return_reason: Mapped[str | None] = mapped_column(String(2000))
    # Not indexed: nearly every ticket has the same value, and SQLite, seeing ``sensitive = 0`` in every
    # staff list, would pick that index over the selective one (solved_at, assignee) beside it.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Earliest pending SLA target, kept current by the SLA tracker so "breaching soon" is one index scan.
    sla_next_due_at: Mapped[datetime | None]
    # When the periodic SLA check must look again: the earliest running target not yet breached.
    # ``sla_next_due_at`` stays on an overdue target (the overdue views sort by it), so the check keeps
    # its own column and index and never rereads tickets whose breaches are all recorded. On the row
    # itself, so each change writes it in the UPDATE it makes anyway (and a creation in its INSERT).
    sla_check_at: Mapped[datetime | None]

    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    organisation: Mapped[Organisation | None] = relationship()
    group: Mapped[Group | None] = relationship()
    site: Mapped[Site | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", cascade="all, delete-orphan"
    )
    tag_rows: Mapped[list[TicketTag]] = relationship(cascade="all, delete-orphan", order_by="TicketTag.tag")

    @property
    def number(self) -> int:
        return self.id

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class Message(Base):
    """A public reply or an internal note. HTML is stored sanitised; the plain text feeds search."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_kind: Mapped[AuthorKind] = mapped_column(enum_column(AuthorKind, "author_kind"))
    public: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    # RFC 5322 Message-ID of the mail this message came in as or went out as (without angle brackets).
    email_message_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )


class Attachment(Base):
    """Metadata of a stored file; the bytes live in the attachment store under ``storage_key``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))

    message: Mapped[Message] = relationship(back_populates="attachments")


class IdempotencyKey(Base):
    """Remembers an API create or webhook by its key, so a replay returns the first result."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
