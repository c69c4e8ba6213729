"""Subscriptions, the dispatcher's cursor over the event log, and the delivery outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import BigId, enum_column


class WebhookSubscription(Base):
    """Where events of some types are posted. The signing secret is stored encrypted (it must be read
    back to sign, so it cannot be hashed like a token) and shown once, when it is made."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    secret_hint: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Only an admin may set it: a sensitive ticket's subject and content then go to this URL.
    allow_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # The newest event when it was made: it receives what happens from then on, not the history.
    after_event_id: Mapped[int] = mapped_column(BigId, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookCursor(Base):
    """How far the dispatcher has read the event log. ``gap_seen_at``: when it first met a hole in the
    ids it is waiting on (a transaction that took an id and has not committed yet), wall time."""

    __tablename__ = "webhook_cursors"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigId, default=0)
    gap_seen_at: Mapped[datetime | None]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookDelivery(Base):
    """One event for one subscription: the exact body that is signed and sent, and its attempts.
    Unique per (subscription, event), so the dispatcher can never enqueue an event twice."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(BigId)
    event_type: Mapped[str] = mapped_column(String(60))
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]

    subscription: Mapped[WebhookSubscription] = relationship()
