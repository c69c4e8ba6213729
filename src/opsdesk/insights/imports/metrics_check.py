"""Zendesk's own ticket metrics beside what the KPI engine computes from the imported history: for each
metric, how many tickets differ. The engine's definitions (``insights.kpis.definitions``) are called on
the frames its loader reads, as ``opsdesk kpi`` does; nothing is measured a second way here.

Zendesk states durations in whole minutes, so a ticket differs when OpsDesk's duration, rounded to the
minute, is another number, or when only one side has a value (no reply yet, not solved)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from opsdesk.insights.imports.history import Problem
from opsdesk.insights.imports.zendesk import Line, _id, parse_time

if TYPE_CHECKING:
    import pandas as pd

DURATIONS = {
    "first_reply_time": "reply_time_in_minutes",
    "first_resolution_time": "first_resolution_time_in_minutes",
    "full_resolution_time": "full_resolution_time_in_minutes",
}
COUNTS = {"reopens": "reopens", "replies": "replies"}
SHOWN = 10  # differing tickets named per metric


def compare(
    session: Session,
    metric_lines: Iterable[Line],
    local_ids: Mapping[str, int],
    problems: list[Problem],
    *,
    now: datetime,
    notes: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per metric and variant: metric, variant (calendar, business or count), compared, differ,
    and the Zendesk ids of the first differing tickets."""
    from opsdesk.insights.kpis import definitions
    from opsdesk.insights.kpis.business_time import Timer
    from opsdesk.insights.kpis.loader import load
    from opsdesk.insights.kpis.request import MAX_DAYS, kpi_request

    theirs: dict[int, dict[str, Any]] = {}
    for line in metric_lines:
        ticket = _id(line.record.get("ticket_id"))
        if ticket is None or ticket not in local_ids:
            problems.append(
                Problem(line.file, line.number, f"metrics of ticket {ticket}, which was not imported")
            )
            continue
        theirs[local_ids[ticket]] = line.record
    if not theirs:
        return []
    created = [c for c in (parse_time(r.get("created_at")) for r in theirs.values()) if c is not None]
    end = max([now, *created]).date()
    start = max(min(created, default=now).date() - timedelta(days=1), end - timedelta(days=MAX_DAYS - 1))
    request = kpi_request(metrics=list(DURATIONS), start=start, end=end)
    frames, schedules, _policies = load(session, request)
    tickets, events = frames.tickets, frames.events
    if (
        notes is not None
        and not tickets[tickets["ticket_id"].isin(list(theirs))]["schedule_id"].notna().any()
    ):
        notes.append(
            "no SLA policy with business hours applies to the imported tickets, so their business-hours "
            "times are measured 24x7: give the desk's SLA policy the schedule Zendesk used, then re-run"
        )
    ours_of = {local: zd for zd, local in local_ids.items()}
    rows = []
    for business in (False, True):
        timer = Timer(
            business=business,
            schedules=schedules,
            ticket_schedule=tickets.set_index("ticket_id")["schedule_id"],
        )
        variant = "business" if business else "calendar"
        for name, field in DURATIONS.items():
            samples = getattr(definitions, name)(tickets, events, timer)
            ours = _minutes(samples)
            pairs = {t: (ours.get(t), _theirs(r.get(field), variant)) for t, r in theirs.items()}
            rows.append(_row(name, variant, pairs, ours_of))
    reopened = definitions.reopens(events).groupby("ticket_id").size()
    replies = definitions.public_agent_replies(events).groupby("ticket_id").size()
    for name, series in (("reopens", reopened), ("replies", replies)):
        pairs = {t: (int(series.get(t, 0)), _count(r.get(COUNTS[name]))) for t, r in theirs.items()}
        rows.append(_row(name, "count", pairs, ours_of))
    return rows


def _minutes(samples: pd.DataFrame) -> dict[int, int]:
    return {
        int(t): round(float(s) / 60) for t, s in zip(samples["ticket_id"], samples["seconds"], strict=True)
    }


def _theirs(value: Any, variant: str) -> int | None:
    if isinstance(value, dict):
        value = value.get(variant)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _row(
    name: str, variant: str, pairs: dict[int, tuple[int | None, int | None]], ours_of: Mapping[int, str]
) -> dict[str, Any]:
    differing = sorted((ours_of[t] for t, (a, b) in pairs.items() if a != b), key=lambda x: (len(x), x))
    return {
        "metric": name,
        "variant": variant,
        "compared": len(pairs),
        "differ": len(differing),
        "tickets": differing[:SHOWN],
    }
