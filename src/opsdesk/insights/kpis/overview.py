"""The overview's KPI tiles: the last seven days (today included, UTC) through the same engine and
request as `opsdesk kpi`, so a tile and the command give the same number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.insights.kpis.queries import kpi_rows
from opsdesk.insights.kpis.request import kpi_request

OVERVIEW_DAYS = 7
OVERVIEW_METRICS = ("first_reply_time", "full_resolution_time", "sla_attainment", "csat")


@dataclass(frozen=True)
class KpiTile:
    key: str
    label: str
    text: str
    detail: str


@dataclass(frozen=True)
class OverviewKpis:
    start: date
    end: date
    tiles: list[KpiTile]

    @property
    def command(self) -> str:
        return f"opsdesk kpi {' '.join(OVERVIEW_METRICS)} --from {self.start} --to {self.end}"


def overview_kpis(session: Session, *, now: datetime) -> OverviewKpis:
    end = now.date()
    start = end - timedelta(days=OVERVIEW_DAYS - 1)
    request = kpi_request(metrics=OVERVIEW_METRICS, start=start, end=end)
    rows = {(r["metric"], r.get("target")): r for r in kpi_rows(session, request, now=now)}

    def median(metric: str, label: str) -> KpiTile:
        row = rows.get((metric, None))
        if row is None:
            return KpiTile(metric, label, "-", "no tickets yet")
        return KpiTile(metric, label, duration_text(row["median_s"]), f"median of {row['n']:,} tickets")

    def rate(key: str, label: str, row: dict[str, Any] | None) -> KpiTile:
        if row is None:
            return KpiTile(key, label, "-", "nothing measured yet")
        return KpiTile(key, label, f"{row['value']:.1%}", f"{row['numerator']:,} of {row['denominator']:,}")

    return OverviewKpis(
        start,
        end,
        [
            median("first_reply_time", "First reply"),
            median("full_resolution_time", "Full resolution"),
            rate("sla_first_reply", "First reply SLA met", rows.get(("sla_attainment", "first_reply"))),
            rate("sla_resolution", "Resolution SLA met", rows.get(("sla_attainment", "resolution"))),
            rate("csat", "CSAT", rows.get(("csat", None))),
        ],
    )


def duration_text(seconds: float) -> str:
    """Minutes under an hour, hours under two days, days beyond."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
