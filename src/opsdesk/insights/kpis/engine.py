"""A KPI request over frames: the samples of each metric, kept to the period, grouped and summarised.

Ticket-level metrics put a ticket in the period by its creation date (``--date solved``: by its latest
solve, for tickets solved now); CSAT, volumes and contacts by their own instant; backlog is counted at the
end of the period, or of each day, week or month in it (never later than ``now``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from opsdesk.insights.kpis import contacts as contact_kpis
from opsdesk.insights.kpis import definitions, sla
from opsdesk.insights.kpis.business_time import ScheduleVersions, Timer
from opsdesk.insights.kpis.catalogue import METRICS, TIME_KEYS, Basis
from opsdesk.insights.kpis.frames import KpiFrames
from opsdesk.insights.kpis.request import KpiRequest
from opsdesk.insights.kpis.summary import summarise, with_keys

if TYPE_CHECKING:
    import pandas as pd


def compute(
    frames: KpiFrames,
    request: KpiRequest,
    *,
    now: datetime,
    schedules: ScheduleVersions | None = None,
    policies: Mapping[int, sla.Policy] | None = None,
) -> list[dict[str, Any]]:
    """Rows, one per group and metric: the group keys in the order asked, ``target`` for SLA
    attainment, ``metric``, then the numbers."""
    import pandas as pd

    tickets, events = frames.tickets, frames.events
    timer = Timer(
        business=request.business_hours,
        schedules=schedules,
        ticket_schedule=tickets.set_index("ticket_id")["schedule_id"],
    )
    start = pd.Timestamp(datetime.combine(request.start, time(), UTC))
    end = pd.Timestamp(datetime.combine(request.end + timedelta(days=1), time(), UTC))
    ticket_at = _ticket_dates(tickets, events, request.date_basis)
    contact_frame: pd.DataFrame | None = None
    rows: list[dict[str, Any]] = []
    for name in request.metrics:
        metric = METRICS[name]
        keys = list(request.by)
        if name in definitions.TICKET_DURATIONS:
            samples = definitions.TICKET_DURATIONS[name](tickets, events, timer)
        elif name in definitions.TICKET_RATES:
            samples = definitions.TICKET_RATES[name](tickets, events, timer)
        elif name == "sla_attainment":
            sla_timer = Timer(business=True, schedules=schedules, ticket_schedule=timer.ticket_schedule)
            samples = sla.sla_attainment(tickets, events, policies or {}, now, sla_timer)
            keys = [*keys, "target"]
        elif name == "csat":
            samples = definitions.csat(events)
        elif name == "tickets_created":
            samples = definitions.tickets_created(tickets)
        elif name == "tickets_solved":
            samples = definitions.tickets_solved(tickets, events)
        elif name == "backlog":
            samples = definitions.backlog(tickets, events, _instants(request, now))
        else:
            if contact_frame is None:
                contact_frame = contact_kpis.contacts(frames.calls, events)
                contact_frame["agent"] = contact_frame["agent_id"].map(frames.agents)
            samples = contact_kpis.CONTACT_METRICS[name](contact_frame)
        if metric.basis is Basis.TICKET:
            samples = samples.assign(at=samples["ticket_id"].map(ticket_at))
        if name == "backlog":
            samples = samples.assign(at=samples["at"] - pd.Timedelta(microseconds=1))
        if not len(samples):
            continue
        samples = samples.assign(at=pd.to_datetime(samples["at"], utc=True))
        samples = samples[(samples["at"] >= start) & (samples["at"] < end)]
        grouped = with_keys(samples, keys, tickets, frames.tags)
        for row in summarise(grouped, metric.kind, keys):
            numbers = {k: v for k, v in row.items() if k not in keys}
            labels = {k: row[k] for k in keys}
            rows.append({**labels, "metric": name, **numbers})
    return sort_rows(rows, request)


def sort_rows(rows: list[dict[str, Any]], request: KpiRequest) -> list[dict[str, Any]]:
    """Rows by their group keys (stable: within a group, metrics in the order asked)."""
    key_order = [*request.by, "target"]
    rows.sort(key=lambda r: [_sortable(r.get(k)) for k in key_order])
    return rows


def _ticket_dates(tickets: pd.DataFrame, events: pd.DataFrame, basis: str) -> pd.Series:
    if basis == "solved":
        return definitions.latest_solve(tickets, events)
    return tickets.set_index("ticket_id")["created_at"]


def _instants(request: KpiRequest, now: datetime) -> list[datetime]:
    """The ends of the period's days, weeks or months (or of the whole period), none past ``now``:
    backlog is counted just before each (so a day's backlog is what was left at its end)."""
    bucket = next((k for k in request.by if k in TIME_KEYS), None)
    last = request.end + timedelta(days=1)
    ends: list[date] = []
    day = request.start
    while day < last:
        if bucket == "day":
            day = day + timedelta(days=1)
        elif bucket == "week":
            day = day + timedelta(days=7 - day.weekday())
        elif bucket == "month":
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            day = last
        ends.append(min(day, last))
    first = datetime.combine(request.start, time(), UTC)
    capped = {min(datetime.combine(d, time(), UTC), now) for d in ends}
    return sorted(i for i in capped if i > first)


def _sortable(value: Any) -> tuple[int, str]:
    return (1, "") if value is None else (0, f"{value:>24}" if isinstance(value, int | float) else str(value))
