"""Health tables: scorecards and their measure weights, the signals imported for measures the system
does not observe itself, dated score snapshots, and manual overrides."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import enum_column
from opsdesk.success.health.scorecard import Band
from opsdesk.success.models import Segment, Stage


class SignalKind(enum.StrEnum):
    """Inputs imported from outside systems (survey tool, CRM, billing) until OpsDesk records them."""

    NPS = "nps"  # the account's NPS, -100..100, when its survey answers are not in OpsDesk
    EXEC_ENGAGEMENT = "exec_engagement"  # an executive meeting or QBR took place at observed_at
    PAYMENT_DAYS_OVERDUE = "payment_days_overdue"  # oldest unpaid invoice's days past due (0 = current)
    CSAT = "csat"  # good / (good + bad) %, used when the desk has no CSAT ratings for the account


class HealthScorecard(Base):
    """A weighted set of measures. An account uses the most specific active scorecard whose segment
    and stage match (a scorecard with neither is a default), ties broken by ``priority``."""

    __tablename__ = "success_health_scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("success_segments.id"), index=True)
    stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "account_stage"))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    # Bands: red below ``red_below``, green from ``green_from``, amber between.
    red_below: Mapped[int] = mapped_column(Integer, default=50)
    green_from: Mapped[int] = mapped_column(Integer, default=75)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    segment: Mapped[Segment | None] = relationship()
    measures: Mapped[list[HealthMeasureWeight]] = relationship(
        back_populates="scorecard", cascade="all, delete-orphan", order_by="HealthMeasureWeight.measure"
    )


class HealthMeasureWeight(Base):
    """One measure in a scorecard: its whole-number weight (a scorecard's weights sum to 100) and the
    scoring rule, ``points`` = [[raw, score], ...] interpolated linearly and held flat past the ends."""

    __tablename__ = "success_health_measure_weights"
    __table_args__ = (UniqueConstraint("scorecard_id", "measure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("success_health_scorecards.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(String(40))
    weight: Mapped[int] = mapped_column(Integer)
    points: Mapped[list[list[float]]] = mapped_column(JSONType)

    scorecard: Mapped[HealthScorecard] = relationship(back_populates="measures")


class AccountSignal(Base):
    """One observation of an imported input; the latest one observed on or before a date counts."""

    __tablename__ = "success_account_signals"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "observed_at"),
        Index("ix_success_account_signals_lookup", "account_id", "kind", "observed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"))
    kind: Mapped[SignalKind] = mapped_column(enum_column(SignalKind, "account_signal_kind"))
    value: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    observed_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class HealthOverride(Base):
    """A CSM's judgement replacing the computed score or band until it expires or is replaced."""

    __tablename__ = "success_health_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    band: Mapped[Band | None] = mapped_column(enum_column(Band, "health_band"))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]  # set when a newer override replaces it


class HealthScore(Base):
    """What health was on a date: one snapshot per account per scoring date (a rerun replaces it), with
    each measure's raw input, 0-100 value, weight and contribution, so history and the backtest use what
    was known then. ``score``/``band`` are computed; ``effective_*`` include an override in force."""

    __tablename__ = "success_health_scores"
    __table_args__ = (
        UniqueConstraint("account_id", "scored_on"),
        Index("ix_success_health_scores_on", "scored_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"))
    scored_on: Mapped[date]
    scorecard_id: Mapped[int | None] = mapped_column(
        ForeignKey("success_health_scorecards.id", ondelete="SET NULL")
    )
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    band: Mapped[Band | None] = mapped_column(enum_column(Band, "health_band"))
    effective_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    effective_band: Mapped[Band | None] = mapped_column(enum_column(Band, "health_band"))
    override_id: Mapped[int | None] = mapped_column(ForeignKey("success_health_overrides.id"))
    measures: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    computed_at: Mapped[datetime]
