"""Request and response shapes of the workforce API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from opsdesk.core.bounds import NoNulModel
from opsdesk.workforce.models import PlanRun, PlanStatus


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
