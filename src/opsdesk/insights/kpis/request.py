"""A KPI request checked once for the command line and the API alike: every error names its argument."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.years import YEARS, in_years
from opsdesk.insights.kpis.catalogue import BY_KEYS, DATE_BASES, METRICS, TIME_KEYS

MAX_DAYS = 3661
"""The longest period (ten years and a day or so): backlog by day takes one snapshot per day."""


@dataclass(frozen=True)
class KpiRequest:
    metrics: tuple[str, ...]
    start: date
    end: date  # inclusive
    by: tuple[str, ...] = ()
    business_hours: bool = False
    date_basis: str = "created"


def parse_day(value: str | date, field: str) -> date:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
        if not isinstance(value, date) and len(value) != 10:
            raise ValueError(value)
        return in_years(day)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{value!r} is not a date {YEARS} (YYYY-MM-DD)", field=field) from None


def kpi_request(
    *,
    metrics: Iterable[str],
    start: str | date,
    end: str | date,
    by: str | Iterable[str] | None = None,
    business_hours: bool = False,
    date_basis: str = "created",
) -> KpiRequest:
    names: list[str] = []
    for raw in metrics:
        for name in str(raw).split(","):
            name = name.strip()
            if name not in METRICS:
                shown = name if len(name) <= 60 else name[:60] + "..."
                raise ValidationFailed(
                    f"unknown metric {shown!r}; known: {', '.join(METRICS)}", field="metric"
                )
            if name not in names:
                names.append(name)
    if not names:
        raise ValidationFailed("name at least one metric", field="metric")
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if last < first:
        raise ValidationFailed("'to' is before 'from'", field="to")
    if last - first > timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"the period may span at most {MAX_DAYS} days", field="to")
    keys = _by_keys(by)
    if date_basis not in DATE_BASES:
        raise ValidationFailed(f"date must be one of {', '.join(DATE_BASES)}", field="date")
    return KpiRequest(tuple(names), first, last, keys, business_hours, date_basis)


def _by_keys(by: str | Iterable[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    parts = by.split(",") if isinstance(by, str) else [p for raw in by for p in str(raw).split(",")]
    keys: list[str] = []
    for part in parts:
        key = part.strip()
        if not key:
            continue
        if key not in BY_KEYS:
            shown = key if len(key) <= 60 else key[:60] + "..."
            raise ValidationFailed(f"unknown group key {shown!r}; known: {', '.join(BY_KEYS)}", field="by")
        if key in keys:
            raise ValidationFailed(f"group key {key!r} given twice", field="by")
        keys.append(key)
    if sum(k in TIME_KEYS for k in keys) > 1:
        raise ValidationFailed("group by at most one of day, week, month", field="by")
    return tuple(keys)
