"""Writes of planning scenarios: create one from assumptions, copy one, change its assumptions.

Every write recomputes the whole chain from the (new) assumptions in the same transaction and appends
one event, so the stored links always belong to the stored assumptions.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.workforce.models import PlanScenario


def _computed(session: Session, assumptions: dict[str, Any], clock: Clock) -> tuple[dict[str, Any], ...]:
    from opsdesk.workforce.chain.assumptions import parse_assumptions
    from opsdesk.workforce.chain.build import as_json, run_chain

    checked = parse_assumptions(assumptions)
    chain, summary = run_chain(session, checked, now=clock.now())
    return checked.model_dump(mode="json"), as_json(chain), as_json(summary)


def _name(name: str) -> str:
    text = name.strip()
    if not 1 <= len(text) <= 100:
        raise ValidationFailed("a scenario name has 1 to 100 characters", field="name")
    return text


def create_scenario(
    session: Session,
    *,
    name: str,
    assumptions: dict[str, Any],
    clock: Clock,
    actor: User | None,
    copied_from: PlanScenario | None = None,
) -> PlanScenario:
    """Compute the chain for `assumptions` and store it; flushes, never commits."""
    started = time.monotonic()
    clean_name = _name(name)  # before the chain's seconds of work
    checked, chain, summary = _computed(session, assumptions, clock)
    scenario = PlanScenario(
        name=clean_name,
        copied_from_id=copied_from.id if copied_from else None,
        created_at=clock.now(),
        created_by_id=actor.id if actor else None,
        computed_at=clock.now(),
        build_ms=int((time.monotonic() - started) * 1000),
        assumptions=checked,
        chain=chain,
        summary=summary,
    )
    session.add(scenario)
    session.flush()
    _event(
        session,
        scenario,
        "scenario_created",
        actor,
        {"name": scenario.name, "copied_from": scenario.copied_from_id},
    )
    return scenario


def copy_scenario(
    session: Session,
    *,
    source: PlanScenario,
    name: str,
    changes: dict[str, Any] | None,
    clock: Clock,
    actor: User | None,
) -> PlanScenario:
    """A new scenario with the source's assumptions, `changes` merged in (nested keys), recomputed."""
    merged = merge(copy.deepcopy(source.assumptions), changes or {})
    return create_scenario(
        session, name=name, assumptions=merged, clock=clock, actor=actor, copied_from=source
    )


def change_assumptions(
    session: Session, *, scenario: PlanScenario, changes: dict[str, Any], clock: Clock, actor: User | None
) -> PlanScenario:
    """Merge `changes` into the assumptions and recompute every link; flushes, never commits."""
    started = time.monotonic()
    merged = merge(copy.deepcopy(scenario.assumptions), changes)
    scenario.assumptions, scenario.chain, scenario.summary = _computed(session, merged, clock)
    scenario.computed_at = clock.now()
    scenario.build_ms = int((time.monotonic() - started) * 1000)
    session.flush()
    _event(session, scenario, "scenario_changed", actor, {"changed": sorted(changes)})
    return scenario


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over `base`, key by key in nested mappings; a list or a value replaces what was there."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = merge(base[key], value)
        else:
            base[key] = value
    return base


def _event(
    session: Session, scenario: PlanScenario, kind: str, actor: User | None, data: dict[str, Any]
) -> None:
    append_event(
        session,
        subject_type="plan_scenario",
        subject_id=scenario.id,
        type=kind,
        at=scenario.computed_at,
        actor=actor,
        data=data | {"total_hires": scenario.summary["total_hires"]},
    )
