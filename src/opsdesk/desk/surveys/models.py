"""CSAT tables: one rating per ticket (its history is the ``csat_received`` events), one survey per
ticket (when it was, or why it was not, sent) and the requesters who asked for no more surveys."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import User, enum_column
from opsdesk.desk.models import Ticket
from opsdesk.desk.surveys.scale import Rating, Scale, Via


class CsatRating(Base):
    """The ticket's current rating: changeable until the ticket closes, the latest answer counts."""

    __tablename__ = "csat_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scale: Mapped[Scale] = mapped_column(enum_column(Scale, "csat_scale"))
    rating: Mapped[Rating] = mapped_column(enum_column(Rating, "csat_rating"))
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(String(200))
    via: Mapped[Via] = mapped_column(enum_column(Via, "csat_via"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)

    ticket: Mapped[Ticket] = relationship()
    requester: Mapped[User | None] = relationship()


class SurveyStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class CsatSurvey(Base):
    """The survey of one ticket: at most one per ticket, as Zendesk offers it once. A ticket reopened
    before its survey left loses the pending row, so the next solve schedules it again."""

    __tablename__ = "csat_surveys"
    __table_args__ = (Index("ix_csat_surveys_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    to: Mapped[str | None] = mapped_column(String(320))
    scale: Mapped[Scale] = mapped_column(enum_column(Scale, "csat_scale"))
    status: Mapped[SurveyStatus] = mapped_column(enum_column(SurveyStatus, "csat_survey_status"))
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SurveyOptOut(Base):
    """A requester who asked for no more satisfaction surveys (from the link in any survey)."""

    __tablename__ = "csat_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]
