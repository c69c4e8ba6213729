"""The demo's first workforce plan and its planning scenarios, built from the history and the
customer-success book just loaded, so the planner pages (and the scenario comparison) have data."""

from __future__ import annotations

from rich.progress import Progress
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.workforce.actions import build_plan_run
from opsdesk.workforce.default_plan import default_plan
from opsdesk.workforce.models import PlanRun, PlanScenario
from opsdesk.workforce.planning import parse_config, plan_steps

# The second scenario's view of the market: 1% a month more covered lives than the book says.
FASTER_GROWTH_PCT = 1.0


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


def build_demo_scenarios(
    session: Session, *, lead: User, clock: Clock, progress: Progress | None = None
) -> list[PlanScenario]:
    """The demo organisation's scenario and a copy with faster growth, so the compare page has two
    scenarios on first run; none when the demo has too little history or book to plan from."""
    from opsdesk.workforce.chain.assumptions import default_assumptions
    from opsdesk.workforce.scenarios import copy_scenario, create_scenario

    task = progress.add_task("planning scenarios", total=2) if progress else None
    try:
        base = create_scenario(
            session, name="Base", assumptions=default_assumptions(clock.now()), clock=clock, actor=lead
        )
    except ValidationFailed:  # raised before anything is stored: the rest of the demo stands
        return []
    if progress is not None and task is not None:
        progress.advance(task, 1)
    faster = copy_scenario(
        session,
        source=base,
        name=f"Faster growth (+{FASTER_GROWTH_PCT:g}% a month)",
        changes={"growth": {"extra_monthly_growth_pct": FASTER_GROWTH_PCT}},
        clock=clock,
        actor=lead,
    )
    if progress is not None and task is not None:
        progress.advance(task, 1)
    return [base, faster]
