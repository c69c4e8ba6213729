"""A chat conversation beside its ticket, and the sequence numbers of its messages.

The transcript itself is the ticket's messages; these rows add what live delivery needs: a number per
message in the conversation (clients resume from the last one they saw) and the client's own id for
each message (a resend after a dropped connection is stored once)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import Group, User, enum_column
from opsdesk.desk.models import Message, Ticket


class ChatState(enum.StrEnum):
    WAITING = "waiting"  # the visitor is in the queue; no agent yet
    ACTIVE = "active"
    ENDED = "ended"


class Sender(enum.StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"


class ChatConversation(Base):
    __tablename__ = "chat_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    # sha256 of the visitor's bearer token; the clear token lives only in the visitor's browser.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[ChatState] = mapped_column(enum_column(ChatState, "chat_state"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    # What the pre-chat form gave; the email is as typed, not verified.
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str | None] = mapped_column(String(16))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    visitor_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    agent_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    visitor_online: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship()
    agent: Mapped[User | None] = relationship()
    group: Mapped[Group | None] = relationship()


class ChatEntry(Base):
    """One message of a conversation, numbered; ``message_id`` is its place in the ticket's transcript."""

    __tablename__ = "chat_entries"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[Sender] = mapped_column(enum_column(Sender, "chat_sender"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime]

    message: Mapped[Message] = relationship()
