"""Today at a glance for a workforce analyst: per channel and 15-minute interval the forecast against what
arrived and the re-forecast of the rest of the day; agents required (from the re-forecast, by the staffing
models) against agents scheduled (published shifts) and online (presence); adherence per agent.

"Today" is the viewer's day: from midnight to midnight in their zone. Staffing is computed on what arrived
up to the interval now falls in and on the re-forecast from it on, with the previous day's arrivals in
front so that email and social work carried into the morning is staffed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from opsdesk.core.errors import OpsDeskError
from opsdesk.insights.schedules import published_shifts_between
from opsdesk.workforce.intraday import adherence as spans
from opsdesk.workforce.intraday import queries
from opsdesk.workforce.intraday.forecasts import INTERVAL, baseline_origin, channel_forecast
from opsdesk.workforce.intraday.reforecast import WINDOW, reforecast
from opsdesk.workforce.models import IntradayReforecast, PlanRun
from opsdesk.workforce.queries import latest_plan

if TYPE_CHECKING:
    from opsdesk.workforce.staffing import StaffingTargets

LEAD = timedelta(days=1)  # arrivals before the day, for the deferred work carried into it


@dataclass(frozen=True)
class ChannelDay:
    channel: str
    source: str
    forecast: list[float]
    actual: list[float | None]  # None after the interval now falls in (which holds what arrived so far)
    reforecast: list[float]
    ratio: float
    window_actual: float
    window_forecast: float
    required: list[int]  # agents at work (before shrinkage)
    required_on_shift: list[int]  # after shrinkage


@dataclass(frozen=True)
class AgentDay:
    user_id: int
    name: str
    on_shift_now: bool
    status_now: str
    adherence: spans.Adherence


@dataclass(frozen=True)
class IntradayDay:
    now: datetime
    zone: ZoneInfo
    starts: list[datetime]  # UTC interval starts of the viewer's day
    current: int  # index of the interval now falls in
    targets_source: str
    channels: list[ChannelDay]
    left_out: dict[str, str]  # channel -> why it has no forecast
    required: list[int]
    required_on_shift: list[int]
    scheduled: list[float]
    online: list[float | None]
    agents: list[AgentDay]
    job_runs: list[IntradayReforecast] = field(default_factory=list)


def day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The viewer's day around ``now`` as UTC instants (23 or 25 hours on a clock change)."""
    local = now.astimezone(zone).date()
    start = datetime.combine(local, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(local + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def staffing_targets(
    session: Session, now: datetime
) -> tuple[str, PlanRun | None, dict[str, StaffingTargets]]:
    """Each channel's targets at 15-minute intervals: the latest plan's, else the default plan's."""
    from opsdesk.workforce.default_plan import default_plan
    from opsdesk.workforce.planning import parse_config

    run = latest_plan(session)
    config = dict(run.config) if run is not None else default_plan(now)
    config["interval_minutes"] = int(INTERVAL / timedelta(minutes=1))
    _checked, targets = parse_config(config)
    source = f"plan run #{run.id}" if run is not None else "the default plan (no plan has been built)"
    return source, run, {channel.value: target for channel, target in targets.items()}


def intraday_day(session: Session, *, now: datetime, zone: ZoneInfo) -> IntradayDay:
    """Everything the intraday page and API show, computed now (nothing is written)."""
    import numpy as np

    from opsdesk.workforce.staffing import staff_intervals

    now = now.astimezone(UTC)
    start, end = day_bounds(now, zone)
    count = int((end - start) / INTERVAL)
    lead = int(LEAD / INTERVAL)
    grid = [start - LEAD + i * INTERVAL for i in range(lead + count)]
    current = int((now - grid[0]) / INTERVAL)  # in the grid, lead included
    targets_source, run, targets = staffing_targets(session, now)
    arrived = queries.arrivals(session, start=grid[0], end=end, step=INTERVAL, channels=list(targets))
    origin = baseline_origin(now)
    channels: list[ChannelDay] = []
    left_out: dict[str, str] = {}
    needed = grid[max(0, min(lead, current - WINDOW)) :]  # the ratio's window and the day
    for name, target in targets.items():
        try:
            source, values = channel_forecast(session, run=run, channel=name, starts=needed, origin=origin)
        except OpsDeskError as exc:
            left_out[name] = exc.message
            continue
        if any(value is None for value in values):
            left_out[name] = "no forecast covers today (the plan and the baseline stop short of it)"
            continue
        forecast = [0.0] * (len(grid) - len(needed)) + [float(v or 0.0) for v in values]
        actual = arrived[name]
        result = reforecast(forecast, actual, current)
        volume = np.round(np.asarray(result.values), 2)  # staffing reads two decimals exactly
        staffed = staff_intervals({"timestamp": grid, "volume": volume}, target)
        channels.append(
            ChannelDay(
                channel=name,
                source=source,
                forecast=forecast[lead:],
                actual=[actual[i] if i <= current else None for i in range(lead, len(grid))],
                reforecast=result.values[lead:],
                ratio=result.ratio,
                window_actual=result.window_actual,
                window_forecast=result.window_forecast,
                required=[int(v) for v in staffed["agents"].to_numpy()[lead:]],
                required_on_shift=[int(v) for v in staffed["scheduled_agents"].to_numpy()[lead:]],
            )
        )
    scheduled, online, agents = _people(session, start=start, end=end, now=now)
    return IntradayDay(
        now=now,
        zone=zone,
        starts=grid[lead:],
        current=current - lead,
        targets_source=targets_source,
        channels=channels,
        left_out=left_out,
        required=[sum(c.required[i] for c in channels) for i in range(count)],
        required_on_shift=[sum(c.required_on_shift[i] for c in channels) for i in range(count)],
        scheduled=scheduled,
        online=online,
        agents=agents,
        job_runs=queries.reforecasts_between(session, start, end),
    )


def _people(
    session: Session, *, start: datetime, end: datetime, now: datetime
) -> tuple[list[float], list[float | None], list[AgentDay]]:
    """Agents scheduled and online per interval, and each agent's adherence from ``start`` to now."""
    shifts: dict[int, list[spans.Span]] = {}
    absences: dict[int, list[spans.Span]] = {}
    for shift in published_shifts_between(session, start, end):
        kind = absences if shift.absence else shifts
        kind.setdefault(shift.user_id, []).append((shift.starts_at, shift.ends_at))
    on_shift = {agent: spans.on_shift_spans(own, absences.get(agent, [])) for agent, own in shifts.items()}
    initial, changes = queries.presence_changes(session, start=start, end=end)
    people = set(initial) | set(changes)
    online = {
        agent: spans.online_spans(initial.get(agent, "offline"), changes.get(agent, []), start, now)
        for agent in people
    }
    starts = [start + i * INTERVAL for i in range(int((end - start) / INTERVAL))]
    scheduled = [float(v or 0.0) for v in spans.agents_per_interval(on_shift.values(), starts, INTERVAL)]
    online_counts = spans.agents_per_interval(online.values(), starts, INTERVAL, until=now)
    shown = {a for a, s in on_shift.items() if spans.clip(s, start, end)} | {
        a for a, s in online.items() if s
    }
    names = queries.names(session, shown)
    agents = []
    for agent in shown:
        statuses = [initial.get(agent, "offline"), *(to for at, to in changes.get(agent, []) if at <= now)]
        own = on_shift.get(agent, [])
        agents.append(
            AgentDay(
                user_id=agent,
                name=names.get(agent, f"user {agent}"),
                on_shift_now=any(a <= now < b for a, b in own),
                status_now=statuses[-1],
                adherence=spans.adherence(own, online.get(agent, []), start, now),
            )
        )
    agents.sort(key=lambda row: (-row.adherence.out_of_adherence_minutes, row.name))
    return scheduled, online_counts, agents
