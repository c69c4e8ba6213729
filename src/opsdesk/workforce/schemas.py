"""Request and response shapes of the workforce API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import NoNulModel
from opsdesk.workforce.models import PlanRun, PlanScenario, PlanStatus
from opsdesk.workforce.roster.assign import LineShift
from opsdesk.workforce.roster.queries import WeekRoster


class PlanBuildIn(NoNulModel):
    """Build a plan from `config` (see opsdesk.workforce.planning.PlanConfig); without one, from the
    latest run's configuration."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = None


class PlanRunOut(BaseModel):
    id: int
    created_at: datetime
    created_by_id: int | None
    status: PlanStatus
    build_ms: int
    config: dict[str, Any]
    summary: dict[str, Any]
    forecast: dict[str, Any]
    requirement: dict[str, Any]
    schedule: dict[str, Any]
    hiring: dict[str, Any]

    @classmethod
    def of(cls, run: PlanRun) -> PlanRunOut:
        return cls(
            id=run.id,
            created_at=run.created_at,
            created_by_id=run.created_by_id,
            status=run.status,
            build_ms=run.build_ms,
            config=run.config,
            summary=run.summary,
            forecast=run.forecast,
            requirement=run.requirement,
            schedule=run.schedule,
            hiring=run.hiring,
        )


class ScenarioIn(NoNulModel):
    """A new scenario: `assumptions` as opsdesk.workforce.chain.assumptions.Assumptions; without them,
    the demo organisation's (its sites, channels and hiring terms)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    assumptions: dict[str, Any] | None = None


class ScenarioCopyIn(NoNulModel):
    """A copy of a scenario under a new name, with `changes` merged into its assumptions (nested keys,
    e.g. {"channels": {"phone": {"aht_seconds": 300}}}); everything downstream is recomputed."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    changes: dict[str, Any] = Field(default_factory=dict)


class ScenarioChangeIn(NoNulModel):
    """Changes merged into a scenario's assumptions (nested keys); the whole chain is recomputed."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(min_length=1)


class ScenarioBrief(BaseModel):
    id: int
    name: str
    copied_from_id: int | None
    computed_at: datetime
    total_hires: int
    total_cost_cents: int
    schedule_covered_pct: float | None

    @classmethod
    def of(cls, scenario: PlanScenario) -> ScenarioBrief:
        return cls(
            id=scenario.id,
            name=scenario.name,
            copied_from_id=scenario.copied_from_id,
            computed_at=scenario.computed_at,
            total_hires=scenario.summary["total_hires"],
            total_cost_cents=scenario.summary["total_cost_cents"],
            schedule_covered_pct=scenario.summary["schedule_covered_pct"],
        )


class ScenarioOut(BaseModel):
    id: int
    name: str
    copied_from_id: int | None
    created_at: datetime
    created_by_id: int | None
    computed_at: datetime
    build_ms: int
    assumptions: dict[str, Any]
    chain: dict[str, Any]
    summary: dict[str, Any]

    @classmethod
    def of(cls, scenario: PlanScenario) -> ScenarioOut:
        return cls(
            id=scenario.id,
            name=scenario.name,
            copied_from_id=scenario.copied_from_id,
            created_at=scenario.created_at,
            created_by_id=scenario.created_by_id,
            computed_at=scenario.computed_at,
            build_ms=scenario.build_ms,
            assumptions=scenario.assumptions,
            chain=scenario.chain,
            summary=scenario.summary,
        )


class ContractIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    hours_per_week: float = Field(ge=0, le=84, description="Contracted hours per week, to the quarter hour")


class RosterShiftOut(BaseModel):
    line: str
    site: str
    team: str
    starts_at: datetime
    ends_at: datetime


class RosterAgentOut(BaseModel):
    user_id: int
    name: str
    shifts: list[RosterShiftOut]
    hours: float
    contracted_hours: float
    contract_set: bool


class OpenLineOut(RosterShiftOut):
    reason: str


class RosterOut(BaseModel):
    """A week of named agents as published: each agent's shifts and hours, and the lines left open."""

    plan_id: int
    week_start: datetime
    week_end: datetime
    agents: list[RosterAgentOut]
    open: list[OpenLineOut]

    @classmethod
    def of(cls, week: WeekRoster) -> RosterOut:
        def shift(s: LineShift) -> dict[str, Any]:
            return {"line": s.line, "site": s.site, "team": s.team, "starts_at": s.start, "ends_at": s.end}

        return cls(
            plan_id=week.run.id,
            week_start=week.week_start,
            week_end=week.week_end,
            agents=[
                RosterAgentOut(
                    user_id=row.user.id,
                    name=row.user.name,
                    shifts=[RosterShiftOut(**shift(s)) for s in row.shifts],
                    hours=row.minutes / 60,
                    contracted_hours=row.contracted_minutes / 60,
                    contract_set=row.contract_set,
                )
                for row in week.agents
            ],
            open=[OpenLineOut(**shift(o.shift), reason=o.reason) for o in week.roster.open],
        )
