"""Time-off requests: what an agent asked for, and what a lead decided."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import User, enum_column


class TimeOffKind(enum.StrEnum):
    VACATION = "vacation"
    SICK = "sick"
    TRAINING = "training"


class TimeOffStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class TimeOffRequest(Base):
    __tablename__ = "time_off_requests"
    __table_args__ = (Index("ix_time_off_requests_user_start", "user_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[TimeOffKind] = mapped_column(enum_column(TimeOffKind, "time_off_kind"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[TimeOffStatus] = mapped_column(
        enum_column(TimeOffStatus, "time_off_status"), default=TimeOffStatus.PENDING, index=True
    )
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(500), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class ScheduleFeedToken(Base):
    """The secret in an agent's calendar-feed address (calendar apps send no cookies), stored as its
    SHA-256 only; regenerating replaces it, so an address once shared stops working."""

    __tablename__ = "schedule_feed_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
