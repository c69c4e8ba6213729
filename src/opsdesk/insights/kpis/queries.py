"""KPI rows from the database: what the command line and the API both call, so their rows are equal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.insights.kpis.engine import compute
from opsdesk.insights.kpis.loader import load
from opsdesk.insights.kpis.request import KpiRequest


def kpi_rows(session: Session, request: KpiRequest, *, now: datetime) -> list[dict[str, Any]]:
    frames, schedules, policies = load(session, request)
    return compute(frames, request, now=now, schedules=schedules, policies=policies)
