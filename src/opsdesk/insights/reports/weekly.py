"""The weekly leadership report: the chosen KPIs for an ISO week beside the week before, the change, and
the biggest movers by channel, site and group.

Every number is read from :func:`opsdesk.insights.kpis.queries.kpi_rows` with the request ``opsdesk kpi``
would build for the same week, so the report and the command line cannot disagree. The only thing added
here is arithmetic between two engine values (the change) and the reading of an absent count row as 0
(the engine leaves out groups without data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.insights.kpis.catalogue import METRICS, Kind
from opsdesk.insights.kpis.queries import kpi_rows
from opsdesk.insights.kpis.request import kpi_request

DEFAULT_KPIS = (
    "tickets_created",
    "tickets_solved",
    "first_reply_time:median",
    "full_resolution_time:median",
    "sla_attainment",
    "csat",
    "reopen_rate",
)
DIMENSIONS = ("channel", "site", "group")
STATS = {"mean": "mean_s", "median": "median_s", "p90": "p90_s"}
SLA_TARGETS = ("first_reply", "next_reply", "resolution")
LOWER_IS_BETTER = frozenset(
    {"reopen_rate", "escalation_rate", "abandon_rate", "backlog"}
    | {name for name, m in METRICS.items() if m.kind is Kind.DURATION}
)
"""Metrics where a fall is good news (durations, reopens, escalations, abandons, backlog)."""
NEUTRAL = frozenset({"tickets_created"})
"""Metrics whose move is neither good nor bad news: demand is what customers bring."""


@dataclass(frozen=True)
class KpiChoice:
    """One KPI of the report: a metric, and for durations which statistic of it."""

    metric: str
    stat: str  # the row field read: "value", "median_s", "mean_s" or "p90_s"

    @property
    def kind(self) -> Kind:
        return METRICS[self.metric].kind


def parse_kpis(specs: Sequence[str]) -> tuple[KpiChoice, ...]:
    """``metric`` or ``metric:mean|median|p90`` (durations; median when not said)."""
    choices: list[KpiChoice] = []
    for spec in specs:
        name, _, stat = spec.strip().partition(":")
        metric = METRICS.get(name)
        if metric is None:
            raise ValidationFailed(f"unknown metric {name[:60]!r}; known: {', '.join(METRICS)}", field="kpi")
        if metric.kind is Kind.DURATION:
            field = STATS.get(stat or "median")
            if field is None:
                raise ValidationFailed(f"{name}: statistic must be one of {', '.join(STATS)}", field="kpi")
        elif stat:
            raise ValidationFailed(f"{name} is a {metric.kind.value}: it takes no statistic", field="kpi")
        else:
            field = "value"
        choice = KpiChoice(name, field)
        if choice not in choices:
            choices.append(choice)
    if not choices:
        raise ValidationFailed("choose at least one KPI", field="kpi")
    return tuple(choices)


@dataclass(frozen=True)
class Line:
    """A KPI line: the choice, and for SLA attainment the target it is about."""

    choice: KpiChoice
    target: str | None = None

    @property
    def key(self) -> str:
        """The line's name in the report, e.g. ``first_reply_time median`` or ``sla_attainment
        first_reply``: the metric name of ``opsdesk kpi`` so a reader can ask for the same number."""
        extra = self.target or (self.choice.stat.removesuffix("_s") if self.choice.stat != "value" else "")
        return f"{self.choice.metric} {extra}".strip()

    @property
    def lower_is_better(self) -> bool:
        return self.choice.metric in LOWER_IS_BETTER


@dataclass(frozen=True)
class Figure:
    line: Line
    current: float | None  # None: no data that week (durations, rates)
    previous: float | None
    n_current: int
    n_previous: int
    band: tuple[float | None, float | None] | None = None  # the desk-wide target (low, high), if any

    @property
    def on_target(self) -> bool | None:
        """Whether this week's value is inside the target band; None without a target or a value."""
        if self.band is None or self.current is None:
            return None
        low, high = self.band
        return (low is None or self.current >= low) and (high is None or self.current <= high)

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def improved(self) -> bool | None:
        """True when the change is good news, False when bad, None when nothing moved or is unknown."""
        change = self.change
        if not change or self.line.choice.metric in NEUTRAL:
            return None
        return (change < 0) == self.line.lower_is_better


@dataclass(frozen=True)
class Mover:
    dimension: str  # channel, site or group
    group: str
    figure: Figure


@dataclass(frozen=True)
class WeeklyReport:
    week: date  # the ISO week's Monday
    previous_week: date
    figures: tuple[Figure, ...]
    movers: tuple[Mover, ...]
    generated_at: datetime

    @property
    def week_end(self) -> date:
        return self.week + timedelta(days=6)

    @property
    def iso_week(self) -> str:
        year, number, _ = self.week.isocalendar()
        return f"{year}-W{number:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_full_week(now: datetime) -> date:
    """The Monday of the latest ISO week that has ended by ``now`` (UTC)."""
    return monday_of(now.date()) - timedelta(days=7)


def build_weekly(
    session: Session,
    *,
    week: date,
    now: datetime,
    kpis: Sequence[KpiChoice] | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    movers: int = 5,
    engine: str = "auto",
) -> WeeklyReport:
    """The report for the ISO week holding ``week``. ``movers``: most groups listed per KPI line."""
    choices = tuple(kpis) if kpis is not None else parse_kpis(DEFAULT_KPIS)
    monday = monday_of(week)
    previous = monday - timedelta(days=7)
    metrics = list(dict.fromkeys(c.metric for c in choices))

    def rows(start: date, end: date, by: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        request = kpi_request(metrics=metrics, start=start, end=end, by=by)
        return kpi_rows(session, request, now=now, engine=engine)

    # The headline asks exactly what `opsdesk kpi METRICS --from MONDAY --to SUNDAY` asks, week by week.
    current_rows = rows(monday, monday + timedelta(days=6))
    previous_rows = rows(previous, previous + timedelta(days=6))
    lines = _lines(choices, [*current_rows, *previous_rows])
    bands = _bands(session)
    figures = tuple(
        replace(_figure(line, current_rows, previous_rows), band=bands.get((line.choice, line.target or "")))
        for line in lines
    )

    found: list[Mover] = []
    for dimension in dimensions:
        both = rows(previous, monday + timedelta(days=6), ("week", dimension))
        now_rows = [r for r in both if r["week"] == monday.isoformat()]
        before_rows = [r for r in both if r["week"] == previous.isoformat()]
        groups = {r[dimension] for r in both}
        for group in groups:
            mine = [r for r in now_rows if r[dimension] == group]
            theirs = [r for r in before_rows if r[dimension] == group]
            for line in lines:
                figure = _figure(line, mine, theirs)
                if figure.change:
                    label = "(none)" if group is None else str(group)
                    found.append(Mover(dimension, label, figure))
    order = {line: i for i, line in enumerate(lines)}
    chosen: list[Mover] = []
    for line in lines:
        ranked = [m for m in found if m.figure.line == line]
        ranked.sort(key=lambda m: (-abs(m.figure.change or 0), m.dimension, m.group))
        chosen.extend(ranked[:movers])
    chosen.sort(key=lambda m: order[m.figure.line])
    return WeeklyReport(monday, previous, figures, tuple(chosen), now)


def _bands(session: Session) -> dict[tuple[KpiChoice, str], tuple[float | None, float | None]]:
    """The desk-wide KPI targets (site and group targets are for alerts)."""
    from opsdesk.insights.reports.models import KpiTarget

    rows = session.scalars(select(KpiTarget).where(KpiTarget.scope == "desk"))
    return {(KpiChoice(t.metric, t.stat), t.sla_target): (t.low, t.high) for t in rows}


def _lines(choices: Sequence[KpiChoice], rows: list[dict[str, Any]]) -> list[Line]:
    """One line per choice; SLA attainment one per target found in either week (in the usual order)."""
    lines: list[Line] = []
    for choice in choices:
        if choice.metric == "sla_attainment":
            targets = {r.get("target") for r in rows if r["metric"] == "sla_attainment"}
            ordered = [t for t in SLA_TARGETS if t in targets] + sorted(
                str(t) for t in targets - set(SLA_TARGETS)
            )
            lines.extend(Line(choice, target) for target in ordered)
        else:
            lines.append(Line(choice))
    return lines


def _figure(line: Line, current: list[dict[str, Any]], previous: list[dict[str, Any]]) -> Figure:
    now_value, now_n = _read(line, current)
    before_value, before_n = _read(line, previous)
    return Figure(line, now_value, before_value, now_n, before_n)


def _read(line: Line, rows: list[dict[str, Any]]) -> tuple[float | None, int]:
    for row in rows:
        if row["metric"] == line.choice.metric and row.get("target") == line.target:
            value = row.get(line.choice.stat)
            return (None if value is None else float(value)), int(row.get("n", 0))
    # The engine leaves out a group without data: no tickets is a count of 0, but no duration or rate.
    return (0.0 if line.choice.kind is Kind.COUNT else None), 0
