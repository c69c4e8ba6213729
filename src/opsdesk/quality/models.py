"""Quality-assurance tables: rubrics and their versions, reviews and ratings, disputes, coaching and
calibration sessions.

A rubric's sections and categories live in its versions as one JSON document: a version is written
once and never changed, and every review points at the version it was scored against, so editing a
rubric (publishing a new version) never rewrites an old review. Ratings are rows, one per category, so
per-category scores and dispute rates are plain queries.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import User, enum_column
from opsdesk.desk.models import Ticket


class Rubric(Base):
    __tablename__ = "qa_rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]

    versions: Mapped[list[RubricVersion]] = relationship(
        back_populates="rubric", order_by="RubricVersion.version"
    )


class RubricVersion(Base):
    """One published state of a rubric: ``{"sections": [{"name", "categories": [{"key", "name",
    "description", "scale", "weight", "critical", "allow_na"}]}]}`` (see ``schemas.RubricIn``)."""

    __tablename__ = "qa_rubric_versions"
    __table_args__ = (UniqueConstraint("rubric_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("qa_rubrics.id"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    rubric: Mapped[Rubric] = relationship(back_populates="versions")

    @property
    def categories(self) -> list[dict[str, Any]]:
        return [c for section in self.definition["sections"] for c in section["categories"]]


class CalibrationSession(Base):
    """Several reviewers rate the same conversations blind; the scores are shown once all are in."""

    __tablename__ = "qa_calibration_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("qa_rubric_versions.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    rubric_version: Mapped[RubricVersion] = relationship()
    items: Mapped[list[CalibrationItem]] = relationship(order_by="CalibrationItem.id")
    participants: Mapped[list[CalibrationParticipant]] = relationship(
        order_by="CalibrationParticipant.reviewer_id"
    )


class CalibrationItem(Base):
    __tablename__ = "qa_calibration_items"
    __table_args__ = (UniqueConstraint("session_id", "ticket_id", "agent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("qa_calibration_sessions.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The score the session settled on after discussing, set by the lead.
    agreed_score: Mapped[float | None] = mapped_column(Float)

    ticket: Mapped[Ticket] = relationship()


class CalibrationParticipant(Base):
    __tablename__ = "qa_calibration_participants"

    session_id: Mapped[int] = mapped_column(ForeignKey("qa_calibration_sessions.id"), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)

    reviewer: Mapped[User] = relationship()


class Review(Base):
    """One reviewer's scoring of one agent's work on a ticket (the whole ticket when one agent
    handled it, their part when several did). ``score`` is as submitted and never changes;
    ``corrected_score`` is set when a dispute is accepted, and is the one IQS counts."""

    __tablename__ = "qa_reviews"
    __table_args__ = (
        Index("ix_qa_reviews_agent", "agent_id", "created_at"),
        Index("ix_qa_reviews_reviewer", "reviewer_id", "created_at"),
        # A reviewer rates each item of a calibration session once (outside sessions the NULLs never
        # clash; ``actions.submit_review`` refuses a second review there).
        UniqueConstraint("ticket_id", "agent_id", "reviewer_id", "calibration_session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("qa_rubric_versions.id"))
    calibration_session_id: Mapped[int | None] = mapped_column(ForeignKey("qa_calibration_sessions.id"))
    score: Mapped[float | None] = mapped_column(Float)
    corrected_score: Mapped[float | None] = mapped_column(Float)
    corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship()
    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    rubric_version: Mapped[RubricVersion] = relationship()
    ratings: Mapped[list[Rating]] = relationship(order_by="Rating.id", back_populates="review")
    disputes: Mapped[list[Dispute]] = relationship(order_by="Dispute.id", back_populates="review")

    @property
    def effective_score(self) -> float | None:
        return self.corrected_score if self.corrected else self.score


class Rating(Base):
    """The value given to one category (None for N/A), its score, and the reviewer's comment."""

    __tablename__ = "qa_ratings"
    __table_args__ = (UniqueConstraint("review_id", "category_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("qa_reviews.id"))
    category_key: Mapped[str] = mapped_column(String(80))
    value: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[Review] = relationship(back_populates="ratings")


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Dispute(Base):
    """An agent's challenge to a review (``category_key`` None) or to one category of it. Accepting
    records the corrected values here; the review's ratings stay as the reviewer gave them."""

    __tablename__ = "qa_disputes"
    __table_args__ = (Index("ix_qa_disputes_status", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("qa_reviews.id"), index=True)
    category_key: Mapped[str | None] = mapped_column(String(80))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    status: Mapped[DisputeStatus] = mapped_column(
        enum_column(DisputeStatus, "qa_dispute_status"), default=DisputeStatus.OPEN
    )
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    # Accepted: category key -> corrected value (None for N/A).
    corrections: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    review: Mapped[Review] = relationship(back_populates="disputes")
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])


class CoachingKind(enum.StrEnum):
    NOTE = "note"
    GOAL = "goal"


class Coaching(Base):
    """A coaching note or goal for an agent, optionally tied to the review that prompted it."""

    __tablename__ = "qa_coaching"
    __table_args__ = (Index("ix_qa_coaching_agent", "agent_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("qa_reviews.id"))
    kind: Mapped[CoachingKind] = mapped_column(enum_column(CoachingKind, "qa_coaching_kind"))
    body: Mapped[str] = mapped_column(Text)
    # Goals only: the IQS to reach by a date; met_at once reached (or marked so).
    target_iqs: Mapped[float | None] = mapped_column(Float)
    due_on: Mapped[date | None]
    met_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    author: Mapped[User] = relationship(foreign_keys=[author_id])
