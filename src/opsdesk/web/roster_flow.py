"""Assign named agents to a plan run's week and publish it, as the API and the planner page both do:
the workforce assignment, each agent's week of routing shifts replaced, and the workforce event, in one
transaction (workforce and desk do not import each other, so the web layer joins the steps)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.desk.routing.admin import publish_week_shifts
from opsdesk.workforce.models import PlanRun
from opsdesk.workforce.roster.actions import record_published
from opsdesk.workforce.roster.queries import WeekRoster, roster_for_run


def assign_and_publish(session: Session, *, run: PlanRun, actor: User, clock: Clock) -> WeekRoster:
    """Every agent of the run's sites gets exactly their assigned shifts in the week (none if they got
    none): the week's published shifts are replaced, approved time off is kept."""
    week = roster_for_run(session, run)
    changed = 0
    for row in week.agents:
        changed += publish_week_shifts(
            session,
            agent=row.user,
            starts_from=week.week_start,
            starts_before=week.week_end,
            shifts=[(shift.start, shift.end) for shift in row.shifts],
            clock=clock,
            actor=actor,
        )
    record_published(session, week=week, changed=changed, actor=actor, clock=clock)
    return week
