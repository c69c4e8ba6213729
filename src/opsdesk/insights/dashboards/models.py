"""Finished dashboards shared by every process: a web process or the snapshot job that computed a view
stores it here, so the first view in any other process is a read of this row, not a run of the KPI
engine over the period's event log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base
from opsdesk.core.models import BigId


class DashboardSnapshot(Base):
    """One view (a dashboard, its filter, its reader or zone where it depends on them, the day) at the
    newest event ``event_id``; ``body`` is its panels (or the period's tag choices) as JSON."""

    __tablename__ = "dashboard_snapshots"
    __table_args__ = (Index("ix_dashboard_snapshots_day", "day"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the view's full key
    board: Mapped[str] = mapped_column(String(40))  # a dashboard's name, or "tags"
    day: Mapped[date]  # the day it was computed for (a view's numbers can depend on today)
    period_start: Mapped[date]
    period_end: Mapped[date]
    filtered: Mapped[bool]  # any filter beyond the period
    reader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    zone: Mapped[str] = mapped_column(String(64), default="")
    event_id: Mapped[int] = mapped_column(BigId)
    computed_at: Mapped[datetime]
    viewed_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)
