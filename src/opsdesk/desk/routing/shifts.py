"""Whether an agent's site is on shift at an instant: the published schedule when the agent has one
around that instant, else the site's business hours, else always (a site with no hours works 24x7)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from opsdesk.desk.sla.business_hours import BusinessHours

# A published schedule "exists" for an agent at an instant when it holds a shift within this distance:
# an agent scheduled this week but not today is off shift today, not back on the site's hours.
SCHEDULE_REACH = timedelta(days=7)


def on_shift(
    now: datetime,
    *,
    site_hours: BusinessHours | None,
    shifts: Sequence[tuple[datetime, datetime]] = (),
    absences: Sequence[tuple[datetime, datetime]] = (),
) -> bool:
    """Approved time off (``absences``) wins over shifts and hours: an agent on leave is never on shift."""
    if any(start <= now < end for start, end in absences):
        return False
    near = [(start, end) for start, end in shifts if start - SCHEDULE_REACH <= now < end + SCHEDULE_REACH]
    if near:
        return any(start <= now < end for start, end in near)
    if site_hours is None:
        return True
    return site_hours.is_open(now)
