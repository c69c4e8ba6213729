"""Request and response shapes for health scores, overrides, scorecards, the backtest and utilisation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from opsdesk.core.bounds import Id, NoNulModel, in_years_at
from opsdesk.success.health.measures import MEASURES
from opsdesk.success.health.models import HealthScore, HealthScorecard
from opsdesk.success.health.scorecard import Band
from opsdesk.success.models import Stage

if TYPE_CHECKING:
    from opsdesk.success.health.backtest import BacktestResult
    from opsdesk.success.health.queries import HealthView


class MeasureOut(BaseModel):
    measure: str
    label: str
    unit: str
    raw: float | None
    value: float | None
    weight: int
    effective_weight: float
    contribution: float


class OverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    score: float | None
    band: Band | None
    reason: str
    expires_at: datetime
    created_by_id: int | None
    created_at: datetime


def _measures(stored: dict[str, Any]) -> list[MeasureOut]:
    return [
        MeasureOut(
            measure=key,
            label=MEASURES[key].label if key in MEASURES else key,
            unit=MEASURES[key].unit if key in MEASURES else "",
            raw=v.get("raw"),
            value=v.get("value"),
            weight=int(v.get("weight") or 0),
            effective_weight=float(v.get("effective_weight") or 0),
            contribution=float(v.get("contribution") or 0),
        )
        for key, v in stored.items()
    ]


class HealthOut(BaseModel):
    account_id: int
    scored_on: date
    stored: bool
    scorecard_id: int | None
    scorecard_name: str | None
    red_below: float | None
    green_from: float | None
    score: float | None
    band: Band | None
    effective_score: float | None
    effective_band: Band | None
    change_30d: float | None
    measures: list[MeasureOut]
    override: OverrideOut | None

    @classmethod
    def of(cls, view: HealthView) -> HealthOut:
        return cls(
            account_id=view.account_id,
            scored_on=view.scored_on,
            stored=view.stored,
            scorecard_id=view.scorecard_id,
            scorecard_name=view.scorecard_name,
            red_below=view.thresholds.red_below if view.thresholds else None,
            green_from=view.thresholds.green_from if view.thresholds else None,
            score=None if view.score is None else round(view.score, 2),
            band=view.band,
            effective_score=None if view.effective_score is None else round(view.effective_score, 2),
            effective_band=view.effective_band,
            change_30d=None if view.change_30d is None else round(view.change_30d, 2),
            measures=_measures(view.measures),
            override=OverrideOut.model_validate(view.override) if view.override is not None else None,
        )


class HealthPointOut(BaseModel):
    scored_on: date
    scorecard_id: int | None
    score: float | None
    band: Band | None
    effective_score: float | None
    effective_band: Band | None
    override_id: int | None

    @classmethod
    def of(cls, row: HealthScore) -> HealthPointOut:
        return cls(
            scored_on=row.scored_on,
            scorecard_id=row.scorecard_id,
            score=None if row.score is None else float(row.score),
            band=row.band,
            effective_score=None if row.effective_score is None else float(row.effective_score),
            effective_band=row.effective_band,
            override_id=row.override_id,
        )


class HealthHistoryOut(BaseModel):
    account_id: int
    points: list[HealthPointOut]
    change: float | None  # last effective score minus the first in the range


class OverrideIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    score: Decimal | None = Field(default=None, ge=0, le=100)
    band: Band | None = None
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: Annotated[AwareDatetime, AfterValidator(in_years_at)]

    @model_validator(mode="after")
    def _one_of(self) -> OverrideIn:
        if (self.score is None) == (self.band is None):
            raise ValueError("give either a score or a band")
        return self


class ScorecardMeasureIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    weight: int = Field(ge=0, le=100)
    points: list[Annotated[list[float], Field(max_length=2)]] | None = Field(default=None, max_length=50)


class ScorecardIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    segment_id: Id | None = None
    stage: Stage | None = None
    priority: int = Field(default=100, ge=0, le=1_000_000)
    red_below: int = Field(default=50, ge=0, le=100)
    green_from: int = Field(default=75, ge=0, le=100)
    measures: dict[str, ScorecardMeasureIn] = Field(min_length=1, max_length=50)


class ScorecardUpdateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    measures: dict[str, ScorecardMeasureIn] | None = Field(default=None, max_length=50)
    red_below: int | None = Field(default=None, ge=0, le=100)
    green_from: int | None = Field(default=None, ge=0, le=100)
    active: bool | None = None


class ScorecardMeasureOut(BaseModel):
    weight: int
    points: list[list[float]]


class ScorecardOut(BaseModel):
    id: int
    name: str
    segment_id: int | None
    stage: Stage | None
    priority: int
    red_below: int
    green_from: int
    active: bool
    measures: dict[str, ScorecardMeasureOut]

    @classmethod
    def of(cls, card: HealthScorecard) -> ScorecardOut:
        return cls(
            id=card.id,
            name=card.name,
            segment_id=card.segment_id,
            stage=card.stage,
            priority=card.priority,
            red_below=card.red_below,
            green_from=card.green_from,
            active=card.active,
            measures={
                m.measure: ScorecardMeasureOut(weight=m.weight, points=m.points) for m in card.measures
            },
        )


class BacktestIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    horizon_days: int = Field(default=180, ge=1, le=1095)
    suggest_weights: bool = True


class BacktestOut(BaseModel):
    horizon_days: int
    snapshots: int
    positives: int
    base_rate: float | None
    auc: float | None
    lift_top_decile: float | None
    measure_auc: dict[str, float | None]
    coverage: dict[str, float]
    suggested_weights: dict[str, int] | None
    suggested_auc: float | None
    holdout_auc: float | None
    notes: list[str]

    @classmethod
    def of(cls, horizon_days: int, result: BacktestResult) -> BacktestOut:
        return cls(horizon_days=horizon_days, **result.__dict__)


class UtilisationMonthOut(BaseModel):
    month: date
    engaged_members: int
    covered_lives: int
    sessions: int
    programme_uptake_pct: float
    engaged_rate_pct: float | None


class UtilisationTrendOut(BaseModel):
    latest_month: date | None
    engaged_rate_pct: float | None
    change_pp: float | None
    slope_pp_per_month: float | None
    direction: str | None


class AccountUtilisationOut(BaseModel):
    account_id: int
    months: list[UtilisationMonthOut]
    trend: UtilisationTrendOut


class SegmentUtilisationOut(BaseModel):
    segment: str
    month: date
    accounts: int
    engaged_members: int
    covered_lives: int
    sessions: int
    engaged_rate_pct: float | None
    programme_uptake_pct: float | None


class HealthTrendOut(BaseModel):
    scored_on: date
    segment: str
    accounts: int
    mean_score: float
    red: int
    amber: int
    green: int


class MeasureInfoOut(BaseModel):
    key: str
    label: str
    unit: str
    source: str
    default_points: list[list[float]]
    default_weight: int
