"""The support overview and SLA dashboards: volume, backlog, first reply, resolution, SLA attainment
and CSAT by week, and by channel, site and tier; SLA attainment per agent, team and site. Every number
is a KPI engine row (``data.engine_rows``); this module only arranges rows into panels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.insights.dashboards.data import engine_rows, narrowed, period_data
from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.panels import Column, Panel

TARGETS = ("first_reply", "next_reply", "resolution")
BREAKDOWNS = (("channel", "Channel"), ("site", "Site"), ("tier", "Tier"))
ADDITIVE_METRICS = ("tickets_created", "tickets_solved", "backlog", "sla_attainment", "csat")
"""Counts and rates: the engine computes them once by week, channel, site and tier, and each panel adds
up the numerators and denominators of the groups it merges (exact, unlike merging medians). Backlog is
a snapshot at each week's end, so only its weekly sums are backlogs; no panel merges it otherwise."""
DURATION_METRICS = ("first_reply_time", "full_resolution_time")
"""Medians and percentiles do not add up: the engine computes them per breakdown."""
FINE_KEYS = ("week", "channel", "site", "tier")


def merged(rows: Iterable[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """Engine rows of counts and rates over finer groups, added up per value of ``key`` (and SLA
    target): counts' values, rates' numerators and denominators."""
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        group = (row.get(key), row["metric"], row.get("target"))
        total = totals.setdefault(
            group, {key: row.get(key), "metric": row["metric"], "target": row.get("target"), "n": 0}
        )
        total["n"] += int(row["n"])
        if "numerator" in row:
            total["numerator"] = total.get("numerator", 0) + int(row["numerator"])
            total["denominator"] = total.get("denominator", 0) + int(row["denominator"])
            total["value"] = total["numerator"] / total["denominator"] if total["denominator"] else None
        else:
            total["value"] = total.get("value", 0) + int(row["value"])
    return [{k: v for k, v in t.items() if not (k == "target" and v is None)} for t in totals.values()]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _pick(rows: Iterable[Mapping[str, Any]], key: str) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(group label, metric) -> row, for rows that are not per SLA target."""
    return {(str(r.get(key)), r["metric"]): r for r in rows if r["metric"] != "sla_attainment"}


def sla_parts(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, dict[str, tuple[int, int]]]:
    """Group -> target (and "all") -> (met, met + breached)."""
    result: dict[str, dict[str, tuple[int, int]]] = {}
    for row in rows:
        if row["metric"] != "sla_attainment" or row.get(key) is None:
            continue
        parts = result.setdefault(str(row[key]), {})
        for target in (row["target"], "all"):
            met, total = parts.get(target, (0, 0))
            parts[target] = (met + int(row["numerator"]), total + int(row["denominator"]))
    return result


def _rate(parts: tuple[int, int] | None) -> float | None:
    return round(parts[0] / parts[1], 4) if parts and parts[1] else None


def _value(row: Mapping[str, Any] | None, field: str) -> Any:
    return None if row is None else row.get(field)


def _weekly_duration(
    key: str,
    title: str,
    metric: str,
    by_week: Mapping[tuple[str, str], Mapping[str, Any]],
    weeks: list[str],
) -> Panel:
    """A duration KPI per week: how many tickets it was measured on, its median and 90th percentile."""
    return Panel(
        key,
        title,
        [
            Column("week", "Week (UTC Monday)"),
            Column("tickets", "Tickets", "count"),
            Column("median_h", "Median", "hours"),
            Column("p90_h", "90th percentile", "hours"),
        ],
        [
            [
                w,
                _value(r := by_week.get((w, metric)), "n") or 0,
                _hours(_value(r, "median_s")),
                _hours(_value(r, "p90_s")),
            ]
            for w in weeks
        ],
        x="week",
        series=["median_h", "p90_h"],
    )


def support_overview(session: Session, where: DashboardFilter, *, now: datetime) -> list[Panel]:
    data = period_data(session, where, now)
    frames = narrowed(data.frames, where)
    fine = engine_rows(data, frames, where, ADDITIVE_METRICS, FINE_KEYS, now=now)
    weekly = merged(fine, "week") + engine_rows(data, frames, where, DURATION_METRICS, ("week",), now=now)
    by_week = _pick(weekly, "week")
    sla_week = sla_parts(weekly, "week")
    weeks = sorted({str(r["week"]) for r in weekly if r.get("week") is not None})
    panels = [
        Panel(
            "volume",
            "Tickets created and solved per week",
            [
                Column("week", "Week (UTC Monday)"),
                Column("created", "Created", "count"),
                Column("solved", "Solved", "count"),
            ],
            [
                [
                    w,
                    _value(by_week.get((w, "tickets_created")), "value") or 0,
                    _value(by_week.get((w, "tickets_solved")), "value") or 0,
                ]
                for w in weeks
            ],
            x="week",
            series=["created", "solved"],
        ),
        Panel(
            "backlog",
            "Backlog at the end of each week",
            [Column("week", "Week (UTC Monday)"), Column("backlog", "Unsolved tickets", "count")],
            [[w, _value(by_week.get((w, "backlog")), "value") or 0] for w in weeks],
            x="week",
            series=["backlog"],
        ),
        _weekly_duration(
            "first_reply", "First reply time per week (hours)", "first_reply_time", by_week, weeks
        ),
        _weekly_duration(
            "resolution", "Full resolution time per week (hours)", "full_resolution_time", by_week, weeks
        ),
        Panel(
            "sla_week",
            "SLA attainment per week",
            [
                Column("week", "Week (UTC Monday)"),
                *(Column(t, t.replace("_", " "), "rate") for t in TARGETS),
                Column("all", "All targets", "rate"),
            ],
            [[w, *(_rate(sla_week.get(w, {}).get(t)) for t in (*TARGETS, "all"))] for w in weeks],
            x="week",
            series=[*TARGETS, "all"],
        ),
        Panel(
            "csat_week",
            "CSAT per week",
            [
                Column("week", "Week (UTC Monday)"),
                Column("ratings", "Ratings", "count"),
                Column("csat", "CSAT", "rate"),
            ],
            [
                [w, _value(r := by_week.get((w, "csat")), "denominator") or 0, _value(r, "value")]
                for w in weeks
            ],
            x="week",
            series=["csat"],
        ),
    ]
    for key, label in BREAKDOWNS:
        rows = merged([r for r in fine if r["metric"] != "backlog"], key) + engine_rows(
            data, frames, where, DURATION_METRICS, (key,), now=now
        )
        picked, sla = _pick(rows, key), sla_parts(rows, key)
        groups = sorted({str(r[key]) for r in rows if r.get(key) is not None})
        panels.append(
            Panel(
                f"by_{key}",
                f"By {label.lower()}: volume, first reply, resolution, SLA and CSAT",
                [
                    Column(key, label),
                    Column("created", "Created", "count"),
                    Column("first_reply_median_h", "Median first reply (h)", "hours"),
                    Column("resolution_median_h", "Median resolution (h)", "hours"),
                    Column("sla", "SLA attainment", "rate"),
                    Column("ratings", "Ratings", "count"),
                    Column("csat", "CSAT", "rate"),
                ],
                [
                    [
                        g,
                        _value(picked.get((g, "tickets_created")), "value") or 0,
                        _hours(_value(picked.get((g, "first_reply_time")), "median_s")),
                        _hours(_value(picked.get((g, "full_resolution_time")), "median_s")),
                        _rate(sla.get(g, {}).get("all")),
                        _value(picked.get((g, "csat")), "denominator") or 0,
                        _value(picked.get((g, "csat")), "value"),
                    ]
                    for g in groups
                ],
                x=key,
                series=["sla", "csat"],
            )
        )
    return panels


def sla_dashboard(session: Session, where: DashboardFilter, *, now: datetime) -> list[Panel]:
    """SLA attainment per target for each agent (the assignee), team (group) and site."""
    data = period_data(session, where, now)
    frames = narrowed(data.frames, where)
    fine = engine_rows(data, frames, where, ("sla_attainment",), ("site", "group", "agent"), now=now)
    panels = []
    for key, label in (("site", "Site"), ("group", "Team"), ("agent", "Agent")):
        parts = sla_parts(fine, key)
        panels.append(
            Panel(
                f"sla_{key}",
                f"SLA attainment per {label.lower()}",
                [
                    Column(key, label),
                    *(Column(t, t.replace("_", " "), "rate") for t in TARGETS),
                    Column("all", "All targets", "rate"),
                    Column("met", "Met", "count"),
                    Column("targets", "Met + breached", "count"),
                ],
                [
                    [g, *(_rate(p.get(t)) for t in (*TARGETS, "all")), p["all"][0], p["all"][1]]
                    for g, p in sorted(parts.items())
                ],
                x=key,
                series=[*TARGETS, "all"],
                chart="table" if key == "agent" else "bars",
            )
        )
    return panels
