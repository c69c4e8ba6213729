"""KPI targets: a band (low and/or high) a KPI should stay in, for the whole desk, a site or a group, and
who to alert when it leaves it. ``breached_since`` holds the open excursion, so each alerts once.
The weekly report's schedule, and the record of each week sent (unique, so no week goes twice)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base, JSONType


class KpiTarget(Base):
    __tablename__ = "kpi_targets"
    __table_args__ = (
        UniqueConstraint("metric", "stat", "sla_target", "scope", "scope_name", name="uq_kpi_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(60))
    stat: Mapped[str] = mapped_column(String(10))  # the row field: value, mean_s, median_s, p90_s
    sla_target: Mapped[str] = mapped_column(String(20), default="")  # SLA attainment: which target
    scope: Mapped[str] = mapped_column(String(10))  # "desk", "site" or "group"
    scope_name: Mapped[str] = mapped_column(String(200), default="")  # the site or group, as KPI rows name it
    low: Mapped[float | None]
    high: Mapped[float | None]
    notify: Mapped[str] = mapped_column(String(254), default="")  # alert email; empty: no alerts
    # The event type appended (and delivered to the outbound webhooks subscribed to it) per excursion.
    webhook_event: Mapped[str] = mapped_column(String(60), default="")
    breached_since: Mapped[datetime | None]
    breached_value: Mapped[float | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReportSchedule(Base):
    """When the weekly report is emailed and to whom: ``weekday`` (0 Monday) and ``hour`` in ``timezone``.
    One row per report (``weekly``). ``active_since``: a week whose send time came before it is not
    sent late, so switching the schedule on mid-week starts with the next send time."""

    __tablename__ = "report_schedules"

    report: Mapped[str] = mapped_column(String(20), primary_key=True)
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    weekday: Mapped[int] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    active_since: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReportSend(Base):
    """A week's report sent by the schedule. The unique (report, week) is the once-only guarantee: a
    second worker's insert finds the row and sends nothing."""

    __tablename__ = "report_sends"
    __table_args__ = (UniqueConstraint("report", "week", name="uq_report_send_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report: Mapped[str] = mapped_column(String(20))
    week: Mapped[date]  # the ISO week's Monday
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sent_at: Mapped[datetime]
