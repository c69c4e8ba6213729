"""Request and response shapes for opportunities, renewal generation, the forecast and the portfolio."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import MAX_CENTS, MAX_ID, Day, NoNulModel
from opsdesk.success.pipeline.models import ForecastCategory, OpportunityKind, OpportunityStage


class OpportunityIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(ge=1, le=MAX_ID)
    kind: OpportunityKind
    amount_cents: int = Field(ge=0, le=MAX_CENTS)
    close_date: Day
    name: str | None = Field(default=None, max_length=200)
    stage: OpportunityStage = OpportunityStage.QUALIFY
    probability_pct: int | None = Field(default=None, ge=0, le=100)
    category: ForecastCategory | None = None
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    notes: str | None = Field(default=None, max_length=10_000)


class OpportunityPatch(NoNulModel):
    """Only the fields sent change; send ``probability_pct`` or ``category`` as null to clear an override."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    amount_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    close_date: Day | None = None
    probability_pct: int | None = Field(default=None, ge=0, le=100)
    category: ForecastCategory | None = None
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    notes: str | None = Field(default=None, max_length=10_000)


class StageMoveIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    to: OpportunityStage
    amount_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)  # the final amount when closing


class OpportunityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    name: str
    kind: OpportunityKind
    amount_cents: int
    stage: OpportunityStage
    probability_pct: int | None
    category: ForecastCategory | None
    close_date: date
    owner_id: int | None
    renewal_of_id: int | None
    notes: str | None
    closed_on: date | None
    won_subscription_id: int | None
    external_id: str | None


class RenewalsIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    lead_days: int = Field(default=120, ge=0, le=730)


class RenewalsOut(BaseModel):
    created: list[OpportunityOut]
    already_open: int
    skipped_renewed: int
    skipped_amended: int


class StageProbabilityOut(BaseModel):
    family: str
    stage: str
    reached: int
    won: int
    default: float
    probability: float


class ForecastMonthOut(BaseModel):
    month: date
    opportunities: int
    closed_won: int
    commit: int
    best_case: int
    open_pipeline: int
    weighted: int
    p10: int
    p50: int
    p90: int
    method: str


class ForecastOut(BaseModel):
    months: list[ForecastMonthOut]
    probabilities: list[StageProbabilityOut]


class AccuracyMonthOut(BaseModel):
    month: date
    forecast: int
    actual: int
    error: int
    pct_error: float | None


class AccuracyOut(BaseModel):
    months: list[AccuracyMonthOut]
    mape: float | None
    wape: float | None
    bias: float | None


class BookOut(BaseModel):
    csm_id: int
    csm: str | None
    accounts: int
    arr_cents: int
    covered_lives: int
    green: int
    amber: int
    red: int
    unknown: int
    account_load: float
    arr_load: float
    load: float
    touches_per_account: float | None
    tasks_on_time: float | None
    renewal_rate: float | None
    nrr: float | None


class MoveOut(BaseModel):
    account_id: int
    account_name: str
    from_csm_id: int
    to_csm_id: int
    arr_cents: int
    fits_region: bool
    fits_segment: bool
