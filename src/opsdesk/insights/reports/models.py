"""KPI targets: a band (low and/or high) a KPI should stay in, for the whole desk, a site or a group, and
who to alert when it leaves it. ``breached_since`` holds the open excursion, so each alerts once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base


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
    breached_since: Mapped[datetime | None]
    breached_value: Mapped[float | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
