"""/api/v1/reports/weekly/schedule: who receives the weekly report by email and when (a weekday and
hour in a time zone), and the weeks already sent. Reading and setting need ``settings.manage``
(admins): recipients and sending times are the install's configuration."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.bounds import Text
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["insights"])
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Address = Annotated[Text, Field(max_length=254)]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[Address] = Field(max_length=50, description="Email addresses the report goes to")
    weekday: Weekday = Field("monday", description="Day the report of the week before is sent")
    hour: int = Field(8, ge=0, le=23, description="Hour of that day it is sent, in `timezone`")
    timezone: Annotated[str, Field(max_length=64)] = Field("UTC", description="IANA zone, e.g. Europe/Dublin")
    active: bool = True


class SentOut(BaseModel):
    week: date
    recipients: list[str]
    sent_at: datetime


class ScheduleOut(BaseModel):
    recipients: list[str]
    weekday: Weekday
    hour: int
    timezone: str
    active: bool
    next_send_at: datetime | None
    sent: list[SentOut] = Field(description="The latest weeks sent, newest first")


def schedule_out(session: Session, now: datetime) -> ScheduleOut | None:
    from opsdesk.insights.reports import schedule

    row = schedule.schedule(session)
    if row is None:
        return None
    sent = schedule.sends(session)
    return ScheduleOut(
        recipients=row.recipients,
        weekday=schedule.WEEKDAYS[row.weekday],
        hour=row.hour,
        timezone=row.timezone,
        active=row.active,
        next_send_at=schedule.next_send(row, now, {s.week for s in sent}),
        sent=[SentOut(week=s.week, recipients=s.recipients, sent_at=s.sent_at) for s in sent],
    )


@router.get("/reports/weekly/schedule", response_model=ScheduleOut)
def get_schedule(user: CurrentUser, session: SessionDep, clock: ClockDep) -> ScheduleOut:
    from opsdesk.core.errors import NotFound

    permissions.require(user, permissions.SETTINGS_MANAGE)
    found = schedule_out(session, clock.now())
    if found is None:
        raise NotFound("the weekly report has no schedule yet: PUT one", field="schedule")
    return found


@router.put("/reports/weekly/schedule", response_model=ScheduleOut)
def put_schedule(body: ScheduleIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> ScheduleOut:
    """Create or replace the schedule. Sending needs `OPSDESK_SMTP_URL`."""
    from opsdesk.insights.reports.schedule import WEEKDAYS, set_schedule

    permissions.require(user, permissions.SETTINGS_MANAGE)
    now = clock.now()
    set_schedule(
        session,
        recipients=body.recipients,
        weekday=WEEKDAYS.index(body.weekday),
        hour=body.hour,
        timezone=body.timezone,
        active=body.active,
        actor=user,
        now=now,
    )
    session.commit()
    found = schedule_out(session, now)
    assert found is not None
    return found
