"""A lead's decision on time off, as the API and the pages both make it: the workforce decision and, when
approved, the absence published to the routing schedule, in one transaction (workforce and desk do not
import each other, so the web layer joins the two steps)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.desk.routing.admin import publish_absence
from opsdesk.workforce.time_off.actions import decide_time_off
from opsdesk.workforce.time_off.models import TimeOffRequest


def decide_and_publish(
    session: Session, *, request: TimeOffRequest, approve: bool, lead: User, note: str, clock: Clock
) -> TimeOffRequest:
    decide_time_off(session, request=request, approve=approve, lead=lead, note=note, clock=clock)
    if approve:
        publish_absence(
            session,
            agent=request.user,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            clock=clock,
            actor=lead,
        )
    return request
