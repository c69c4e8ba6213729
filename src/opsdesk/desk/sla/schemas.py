"""Request and response shapes for SLA policies, business schedules and a ticket's SLA state."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import MAX_TARGET_MINUTES, Day, Id, NoNulModel, Tag
from opsdesk.desk.models import Channel, Priority
from opsdesk.desk.sla.metrics import MetricStatus
from opsdesk.desk.sla.models import BusinessSchedule, SlaPolicy
from opsdesk.desk.sla.queries import TicketSla

PausingStatus = Literal["pending", "on_hold"]


def _pending_only() -> list[PausingStatus]:
    return ["pending"]


class IntervalIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start: str = Field(max_length=5, description="local wall-clock time, HH:MM", examples=["08:00"])
    end: str = Field(
        max_length=5, description="local wall-clock time, HH:MM, up to 24:00", examples=["17:00"]
    )


class BusinessHoursIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(max_length=64, examples=["America/Chicago"])
    always_open: bool = False
    intervals: list[IntervalIn] = Field(default_factory=list, max_length=7 * 48)
    holidays: list[Day] = Field(default_factory=list, max_length=2000)


class BusinessScheduleCreate(BusinessHoursIn):
    name: str = Field(min_length=1, max_length=100)


class BusinessHoursChange(BusinessHoursIn):
    effective_from: datetime | None = Field(default=None, description="now when left out; never in the past")


class IntervalOut(BaseModel):
    weekday: int
    start: str
    end: str


class BusinessHoursOut(BaseModel):
    effective_from: datetime
    timezone: str
    always_open: bool
    intervals: list[IntervalOut]
    holidays: list[date]


class BusinessScheduleOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    current: BusinessHoursOut
    versions: list[BusinessHoursOut]

    @classmethod
    def of(cls, schedule: BusinessSchedule, now: datetime) -> BusinessScheduleOut:
        versions = [
            BusinessHoursOut(
                effective_from=v.effective_from,
                timezone=v.timezone,
                always_open=v.always_open,
                intervals=[IntervalOut(**i) for i in v.intervals],
                holidays=[date.fromisoformat(d) for d in v.holidays],
            )
            for v in sorted(schedule.versions, key=lambda v: v.effective_from)
        ]
        current = [v for v in versions if v.effective_from <= now] or versions[:1]
        return cls(
            id=schedule.id,
            name=schedule.name,
            created_at=schedule.created_at,
            current=current[-1],
            versions=versions,
        )


class TargetsIn(NoNulModel):
    """Minutes per metric; leave a metric out for no target."""

    model_config = ConfigDict(extra="forbid")

    first_reply: int | None = Field(default=None, gt=0, le=MAX_TARGET_MINUTES)
    next_reply: int | None = Field(default=None, gt=0, le=MAX_TARGET_MINUTES)
    resolution: int | None = Field(default=None, gt=0, le=MAX_TARGET_MINUTES)


class SlaPolicyCreate(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    position: int | None = Field(
        default=None, ge=0, le=10_000, description="0 = first; the end of the list when left out"
    )
    active: bool = True
    priorities: list[Priority] = Field(default_factory=list, max_length=10)
    channels: list[Channel] = Field(default_factory=list, max_length=10)
    customer_tags: list[Tag] = Field(default_factory=list, max_length=100)
    targets: dict[Priority, TargetsIn]
    schedule_id: Id | None = Field(default=None, description="business schedule; 24x7 when left out")
    pausing_statuses: list[PausingStatus] = Field(default_factory=_pending_only, max_length=10)


class SlaPolicyUpdate(NoNulModel):
    """Only the fields sent change; ``schedule_id: null`` switches the policy to 24x7."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    position: int | None = Field(default=None, ge=0, le=10_000)
    active: bool | None = None
    priorities: list[Priority] | None = Field(default=None, max_length=10)
    channels: list[Channel] | None = Field(default=None, max_length=10)
    customer_tags: list[Tag] | None = Field(default=None, max_length=100)
    targets: dict[Priority, TargetsIn] | None = None
    schedule_id: Id | None = None
    pausing_statuses: list[PausingStatus] | None = Field(default=None, max_length=10)


class SlaPolicyOut(BaseModel):
    id: int
    name: str
    position: int
    active: bool
    priorities: list[str]
    channels: list[str]
    customer_tags: list[str]
    targets: dict[str, dict[str, int]]
    schedule_id: int | None
    schedule_name: str | None
    pausing_statuses: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, policy: SlaPolicy) -> SlaPolicyOut:
        return cls(
            id=policy.id,
            name=policy.name,
            position=policy.position,
            active=policy.active,
            priorities=policy.priorities,
            channels=policy.channels,
            customer_tags=policy.customer_tags,
            targets=policy.targets,
            schedule_id=policy.schedule_id,
            schedule_name=policy.schedule.name if policy.schedule is not None else None,
            pausing_statuses=policy.pausing_statuses,
            created_at=policy.created_at,
            updated_at=policy.updated_at,
        )


class MetricSlaOut(BaseModel):
    metric: str
    status: MetricStatus
    target_minutes: int
    started_at: datetime
    due_at: datetime | None
    ended_at: datetime | None
    elapsed_minutes: float = Field(description="business minutes the clock has run")
    calendar_elapsed_minutes: float = Field(description="the same running time on the wall clock")
    remaining_minutes: float = Field(description="business minutes left; negative once breached")


class TicketSlaOut(BaseModel):
    ticket: int
    policy_id: int | None
    policy_name: str | None
    calendar: str
    metrics: list[MetricSlaOut]

    @classmethod
    def of(cls, state: TicketSla) -> TicketSlaOut:
        return cls(
            ticket=state.ticket_id,
            policy_id=state.policy_id,
            policy_name=state.policy_name,
            calendar=state.calendar,
            metrics=[
                MetricSlaOut(
                    metric=m.metric,
                    status=m.status,
                    target_minutes=m.target_minutes,
                    started_at=m.started_at,
                    due_at=m.due_at,
                    ended_at=m.ended_at,
                    elapsed_minutes=m.elapsed_minutes,
                    calendar_elapsed_minutes=m.calendar_elapsed_minutes,
                    remaining_minutes=m.remaining_minutes,
                )
                for m in state.metrics
            ],
        )
