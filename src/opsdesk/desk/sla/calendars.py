"""A stored schedule as the clocks use it: the business hours in force at any instant."""

from __future__ import annotations

from bisect import bisect_right

from opsdesk.desk.sla.business_hours import TWENTY_FOUR_SEVEN, BusinessHours
from opsdesk.desk.sla.metrics import CalendarAt
from opsdesk.desk.sla.models import BusinessSchedule, BusinessScheduleVersion


def hours_of(version: BusinessScheduleVersion) -> BusinessHours:
    return BusinessHours.from_spec(
        timezone=version.timezone,
        intervals=version.intervals,
        holidays=version.holidays,
        always_open=version.always_open,
    )


def calendar_at_for(schedule: BusinessSchedule | None) -> CalendarAt:
    """The schedule's hours in force at an instant; before its first version, the first version's."""
    if schedule is None or not schedule.versions:
        return lambda _at: TWENTY_FOUR_SEVEN
    versions = sorted(schedule.versions, key=lambda v: v.effective_from)
    starts = [v.effective_from for v in versions]
    hours = [hours_of(v) for v in versions]
    return lambda at: hours[max(bisect_right(starts, at) - 1, 0)]
