"""The email channel's tables: the outbound queue, a ticket's Cc recipients, and what each inbound mail
was before it became a message (its raw bytes in the store, its text before quoted history was cut)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import enum_column
from opsdesk.desk.models import Message


class OutboundStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboundEmail(Base):
    """A reply waiting for (or done with) the SMTP server.

    ``rfc_message_id`` is assigned when the row is first claimed for sending (the domain comes from the
    configured support address) and kept across retries, so a re-send after a crash carries the same
    Message-ID and the customer's client shows it once.
    """

    __tablename__ = "outbound_emails"
    __table_args__ = (Index("ix_outbound_emails_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    to: Mapped[str] = mapped_column(String(320))
    cc: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subject: Mapped[str] = mapped_column(String(600))
    rfc_message_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OutboundStatus] = mapped_column(
        enum_column(OutboundStatus, "outbound_status"), default=OutboundStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # Chat replies written after the visitor left, sent in this one mail after ``message`` (see
    # desk.channels.delivery): ids of later messages of the same ticket, in order.
    batched_message_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)

    message: Mapped[Message] = relationship()


class TicketCc(Base):
    """Someone copied on the ticket's conversation: each public agent reply is copied to them."""

    __tablename__ = "ticket_ccs"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    added_at: Mapped[datetime]


class InboundEmail(Base):
    """The mail a message came in as: its RFC 822 bytes (by store key, downloadable as .eml), when
    quoted history was cut from the message, the whole text as received, and the Message-ID it answers
    (so a reply to mail sent outside a ticket, such as a customer-success email, can be found)."""

    __tablename__ = "inbound_emails"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    raw_key: Mapped[str | None] = mapped_column(String(300))  # None: too large to keep
    raw_size: Mapped[int] = mapped_column(Integer)
    full_text: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(500), index=True)
