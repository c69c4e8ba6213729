"""Workforce tables: one stored plan run with the configuration it was built from and its results.

Results are series (one value per interval or month) read whole by the planner page and the API, never
queried piecewise, so they are JSON columns rather than hundreds of thousands of rows per run.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import BigId, User, enum_column


class PlanStatus(enum.StrEnum):
    COMPLETE = "complete"
    # Built, but some channel was left out (too little history); the run's notes say which and why.
    PARTIAL = "partial"


class PlanRun(Base):
    """A forecast -> staffing -> site split -> week schedule -> hiring plan, as built at `created_at`."""

    __tablename__ = "workforce_plan_runs"
    __table_args__ = (Index("ix_workforce_plan_runs_created_at", "created_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus, "plan_status"))
    build_ms: Mapped[int] = mapped_column(Integer)
    # The configuration as given (channels, interval, horizon, sites, hiring), so a rebuild reuses it.
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Per channel: actual volume, the back-test and future forecasts with 80% bands, model and errors.
    forecast: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Agents to have on shift per interval of the horizon: per channel, and per channel and site.
    requirement: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The scheduled first week: required, scheduled, under and over agents per site and interval.
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Monthly rows by site and skill (opsdesk.workforce.hiring.HIRING_COLUMNS).
    hiring: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Headline numbers and notes (e.g. a channel left out and why).
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)

    created_by: Mapped[User | None] = relationship()


class PlanScenario(Base):
    """A planning scenario: its assumptions and the output of every link of the chain built from them.

    Copying a scenario makes a new row with `copied_from_id` set; changing an assumption recomputes
    the whole chain in the same transaction, so a stored scenario never mixes old and new links.
    """

    __tablename__ = "workforce_scenarios"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    copied_from_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workforce_scenarios.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    computed_at: Mapped[datetime]
    build_ms: Mapped[int] = mapped_column(Integer)
    # As checked (opsdesk.workforce.chain.assumptions.Assumptions), so a recompute reuses them exactly.
    assumptions: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # growth, contacts, volume, requirement, schedule, headcount, hiring: each link's output.
    chain: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Per month: lives, requirement hours, need, headcount, hires, cost; the schedule's coverage.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)

    created_by: Mapped[User | None] = relationship()


class IntradayBaseline(Base):
    """A channel's forecast per 15-minute interval for three UTC days from `origin` (yesterday's UTC
    midnight), made from the desk's history before `origin`: the "original" forecast intraday re-forecasts
    from when no stored plan covers today. Made once a day by the intraday job, as forecasting at 15-minute
    intervals takes seconds per channel."""

    __tablename__ = "workforce_intraday_baselines"
    __table_args__ = (UniqueConstraint("channel", "origin", name="uq_intraday_baseline"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    origin: Mapped[datetime]
    interval_minutes: Mapped[int] = mapped_column(Integer)
    made_at: Mapped[datetime]
    # How it was made (the forecasting model chosen), shown beside the numbers.
    model: Mapped[str] = mapped_column(String(300))
    forecast: Mapped[list[float]] = mapped_column(JSONType)


class IntradayReforecast(Base):
    """The re-forecast of one channel at one 15-minute tick: the ratio of contacts that arrived to the
    forecast over the window before `at`, by which every later interval of the day is scaled."""

    __tablename__ = "workforce_intraday_reforecasts"
    __table_args__ = (
        UniqueConstraint("at", "channel", name="uq_intraday_reforecast"),
        Index("ix_workforce_intraday_reforecasts_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(300))
    window_actual: Mapped[float]
    window_forecast: Mapped[float]
    ratio: Mapped[float]
    computed_at: Mapped[datetime]


class AgentContract(Base):
    """An agent's contracted working time per week: the most the named-agent assignment gives them.
    An agent with no row is assigned up to their site's weekly maximum (full time)."""

    __tablename__ = "workforce_agent_contracts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    minutes_per_week: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
