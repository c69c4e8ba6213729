"""The demo's first workforce plan, built from the history just loaded, so the planner page has data."""

from __future__ import annotations

from rich.progress import Progress
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.workforce.actions import build_plan_run
from opsdesk.workforce.default_plan import default_plan
from opsdesk.workforce.models import PlanRun
from opsdesk.workforce.planning import parse_config, plan_steps


def build_demo_plan(
    session: Session, *, lead: User, clock: Clock, progress: Progress | None = None
) -> PlanRun | None:
    """One plan run from the demo organisation's configuration, as built by its support lead; None when
    the demo was loaded with too little history to forecast from (under three weeks)."""
    config = default_plan(clock.now())
    task = (
        progress.add_task("workforce plan", total=plan_steps(parse_config(config)[0])) if progress else None
    )

    def advance(done: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=1)

    try:
        return build_plan_run(session, created_by=lead, clock=clock, config=config, progress=advance)
    except ValidationFailed:  # raised before anything is stored: the rest of the demo stands
        return None
