"""The intraday API's response: the same numbers the page shows, rounded as it shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from opsdesk.workforce.intraday.day import IntradayDay


def _one(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class ChannelOut(BaseModel):
    channel: str
    source: str
    ratio: float
    window_actual: float
    window_forecast: float
    forecast_total: float
    actual_so_far: float
    reforecast_total: float


class IntervalOut(BaseModel):
    start: datetime
    local_time: str
    forecast: dict[str, float]
    actual: dict[str, float | None]
    reforecast: dict[str, float]
    required: int
    required_on_shift: int
    scheduled: float
    online: float | None


class AgentOut(BaseModel):
    user_id: int
    name: str
    on_shift_now: bool
    status_now: str
    scheduled_minutes: float
    adherent_minutes: float
    missed_minutes: float
    unscheduled_online_minutes: float
    out_of_adherence_minutes: float
    adherence_pct: float | None


class ReforecastRunOut(BaseModel):
    at: datetime
    channel: str
    ratio: float
    window_actual: float
    window_forecast: float


class IntradayOut(BaseModel):
    now: datetime
    zone: str
    day: str
    interval_minutes: int
    current_interval: int
    targets_source: str
    channels: list[ChannelOut]
    left_out: dict[str, str]
    intervals: list[IntervalOut]
    agents: list[AgentOut]
    job_reforecasts: list[ReforecastRunOut]

    @classmethod
    def of(cls, day: IntradayDay) -> IntradayOut:
        local = [start.astimezone(day.zone) for start in day.starts]
        intervals = [
            IntervalOut(
                start=start,
                local_time=local[i].strftime("%H:%M"),
                forecast={c.channel: round(c.forecast[i], 1) for c in day.channels},
                actual={c.channel: c.actual[i] for c in day.channels},
                reforecast={c.channel: round(c.reforecast[i], 1) for c in day.channels},
                required=day.required[i],
                required_on_shift=day.required_on_shift[i],
                scheduled=round(day.scheduled[i], 1),
                online=_one(day.online[i]),
            )
            for i, start in enumerate(day.starts)
        ]
        return cls(
            now=day.now,
            zone=day.zone.key,
            day=local[0].date().isoformat(),
            interval_minutes=int((day.starts[1] - day.starts[0]).total_seconds() // 60),
            current_interval=day.current,
            targets_source=day.targets_source,
            channels=[
                ChannelOut(
                    channel=c.channel,
                    source=c.source,
                    ratio=round(c.ratio, 3),
                    window_actual=c.window_actual,
                    window_forecast=round(c.window_forecast, 1),
                    forecast_total=round(sum(c.forecast), 1),
                    actual_so_far=sum(v for v in c.actual if v is not None),
                    reforecast_total=round(sum(c.reforecast), 1),
                )
                for c in day.channels
            ],
            left_out=day.left_out,
            intervals=intervals,
            agents=[
                AgentOut(
                    user_id=a.user_id,
                    name=a.name,
                    on_shift_now=a.on_shift_now,
                    status_now=a.status_now,
                    scheduled_minutes=round(a.adherence.scheduled_minutes, 1),
                    adherent_minutes=round(a.adherence.adherent_minutes, 1),
                    missed_minutes=round(a.adherence.missed_minutes, 1),
                    unscheduled_online_minutes=round(a.adherence.unscheduled_online_minutes, 1),
                    out_of_adherence_minutes=round(a.adherence.out_of_adherence_minutes, 1),
                    adherence_pct=None
                    if a.adherence.adherence is None
                    else round(100 * a.adherence.adherence, 1),
                )
                for a in day.agents
            ],
            job_reforecasts=[
                ReforecastRunOut(
                    at=r.at,
                    channel=r.channel,
                    ratio=round(r.ratio, 3),
                    window_actual=r.window_actual,
                    window_forecast=round(r.window_forecast, 1),
                )
                for r in day.job_runs
            ],
        )
