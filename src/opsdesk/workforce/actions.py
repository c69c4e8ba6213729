"""Workforce writes: building and storing a plan run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.workforce.default_plan import default_plan
from opsdesk.workforce.models import PlanRun
from opsdesk.workforce.queries import latest_plan

if TYPE_CHECKING:
    from opsdesk.workforce.planning import Progress


def plan_config_for_rebuild(session: Session, *, clock: Clock) -> dict[str, Any]:
    """The configuration a new plan is built from when none is given: the latest run's, so a rebuild
    re-plans the same organisation on newer history; with no run yet, the demo organisation's."""
    latest = latest_plan(session)
    return dict(latest.config) if latest is not None else default_plan(clock.now())


def build_plan_run(
    session: Session,
    *,
    created_by: User | None,
    clock: Clock,
    config: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> PlanRun:
    """Build a plan from `config` (or the one a rebuild uses) and store it; flushes, never commits."""
    from opsdesk.workforce.planning import build_plan

    chosen = config if config is not None else plan_config_for_rebuild(session, clock=clock)
    return build_plan(session, config=chosen, clock=clock, created_by=created_by, progress=progress)
