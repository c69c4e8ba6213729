"""Writes of the named-agent roster: agents' contracted hours, and the event of a published week."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.workforce.models import AgentContract
from opsdesk.workforce.roster.queries import WeekRoster

MAX_CONTRACT_HOURS = 84  # the labour rules' own ceiling on a week


def record_published(
    session: Session, *, week: WeekRoster, changed: int, actor: User | None, clock: Clock
) -> None:
    """The event of a published week: what was assigned and what stayed open, and how many agents'
    published shifts changed (zero when the same week is published again)."""
    data: dict[str, Any] = {
        "week_start": week.week_start.isoformat(),
        "assigned": len(week.roster.assigned),
        "open": len(week.roster.open),
        "agents": len(week.agents),
        "agents_changed": changed,
    }
    append_event(
        session,
        subject_type="plan_run",
        subject_id=week.run.id,
        type="schedule_published",
        at=clock.now(),
        actor=actor,
        data=data,
    )


def set_contract(session: Session, *, agent: User, hours_per_week: float, clock: Clock, actor: User) -> None:
    """Store an agent's contracted hours per week (to the quarter hour)."""
    if agent.role is not Role.AGENT:
        raise ValidationFailed(f"{agent.name} is not an agent", field="user_id")
    if not 0 <= hours_per_week <= MAX_CONTRACT_HOURS:
        raise ValidationFailed(f"between 0 and {MAX_CONTRACT_HOURS} hours", field="hours_per_week")
    minutes = round(hours_per_week * 4) * 15
    row = session.get(AgentContract, agent.id)
    before = None if row is None else row.minutes_per_week
    if row is None:
        row = AgentContract(user_id=agent.id, minutes_per_week=minutes, updated_at=clock.now())
        session.add(row)
    row.minutes_per_week, row.updated_at = minutes, clock.now()
    append_event(
        session,
        subject_type="user",
        subject_id=agent.id,
        type="contract_changed",
        at=clock.now(),
        actor=actor,
        data={"minutes_per_week": minutes, "before": before},
    )
