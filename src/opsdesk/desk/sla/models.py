"""SLA policies and the business-hours schedules their clocks run on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType


class BusinessSchedule(Base):
    """A named calendar. Its hours live in versions, so a past duration is measured with the hours that
    were in force when it ended, not with today's."""

    __tablename__ = "business_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]

    versions: Mapped[list[BusinessScheduleVersion]] = relationship(
        back_populates="schedule",
        order_by="BusinessScheduleVersion.effective_from",
        cascade="all, delete-orphan",
    )


class BusinessScheduleVersion(Base):
    """The hours of a schedule from ``effective_from`` on: a zone, weekly wall-clock intervals
    ([{"weekday": 0, "start": "08:00", "end": "12:00"}, ...], Monday = 0), holiday dates, or 24x7."""

    __tablename__ = "business_schedule_versions"
    __table_args__ = (UniqueConstraint("schedule_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("business_schedules.id", ondelete="CASCADE"))
    effective_from: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    intervals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    holidays: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]

    schedule: Mapped[BusinessSchedule] = relationship(back_populates="versions")


class SlaPolicy(Base):
    """One policy in the ordered list; the first active policy whose conditions match a ticket applies.

    Empty condition lists match anything. ``targets`` maps a priority to minutes per metric
    ({"urgent": {"first_reply": 30, "next_reply": 60, "resolution": 480}, ...}); a missing entry means
    no target. ``schedule`` None means the clocks run 24x7."""

    __tablename__ = "sla_policies"
    __table_args__ = (Index("ix_sla_policies_position", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priorities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    customer_tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    targets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("business_schedules.id"))
    pausing_statuses: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["pending"])
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    schedule: Mapped[BusinessSchedule | None] = relationship()
