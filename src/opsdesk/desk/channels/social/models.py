"""Social posts (each tied to the ticket its reply chain belongs to) and the outbound reply queue."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import enum_column
from opsdesk.desk.models import Message


class SocialPost(Base):
    """A post seen on (or sent to) a platform. ``ticket_id`` is the thread it belongs to: a reply joins
    the ticket of the nearest post up its reply chain that has one."""

    __tablename__ = "social_posts"
    __table_args__ = (UniqueConstraint("platform", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(40))
    post_id: Mapped[str] = mapped_column(String(200))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(200))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    author_handle: Mapped[str] = mapped_column(String(200))
    from_brand: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    posted_at: Mapped[datetime]
    created_at: Mapped[datetime]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class SocialDelivery(Base):
    """A public or private agent reply on its way to the platform's connector, retried with backoff;
    its status is what the ticket shows."""

    __tablename__ = "social_deliveries"
    __table_args__ = (Index("ix_social_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    platform: Mapped[str] = mapped_column(String(40))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(200))
    recipient_handle: Mapped[str] = mapped_column(String(200))
    public: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "social_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_post_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    message: Mapped[Message] = relationship()
