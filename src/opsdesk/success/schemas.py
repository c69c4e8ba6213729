"""Request and response shapes for customer success (accounts, contacts, subscriptions, retention)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsdesk.core.bounds import MAX_CENTS, MAX_LIVES, MAX_PEPM_CENTS, Day, Id, NoNulModel
from opsdesk.success.models import ContactRole, MovementKind, PriceModel, Stage


class SegmentIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    priority: int = Field(default=100, ge=0, le=1_000_000)
    rules: list[dict[str, Any]] = Field(min_length=1, max_length=100)


class AccountIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    external_id: str | None = Field(default=None, max_length=100)
    parent_id: Id | None = None
    covered_lives: int = Field(default=0, ge=0, le=MAX_LIVES)
    industry: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    owner_id: Id | None = None
    stage: Stage = Stage.IMPLEMENTATION
    organisation_id: Id | None = None


class AccountPatch(NoNulModel):
    """Only the fields sent change; ``null`` clears an optional one (parent, owner, organisation, the
    segment override, industry, region)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    covered_lives: int | None = Field(default=None, ge=0, le=MAX_LIVES)
    industry: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    owner_id: Id | None = None
    parent_id: Id | None = None
    organisation_id: Id | None = None
    segment_override_id: Id | None = None


class SegmentPatch(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    rules: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=100)


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    priority: int
    rules: list[dict[str, Any]]


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    external_id: str | None
    start_date: date
    end_date: date
    price_model: PriceModel
    pepm_cents: int | None
    covered_lives: int | None
    flat_annual_cents: int | None
    escalator_pct: Decimal


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    name: str
    parent_id: int | None
    covered_lives: int
    industry: str | None
    region: str | None
    owner_id: int | None
    stage: Stage
    stage_since: date
    segment_id: int | None
    segment_override_id: int | None
    organisation_id: int | None


class StageChangeIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    to: Stage
    on: Day


class ContactIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: ContactRole
    email: str | None = Field(default=None, max_length=320)
    title: str | None = Field(default=None, max_length=200)
    external_id: str | None = Field(default=None, max_length=100)


class SubscriptionIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    start_date: Day
    end_date: Day
    price_model: PriceModel
    pepm_cents: int | None = Field(default=None, ge=0, le=MAX_PEPM_CENTS)
    covered_lives: int | None = Field(default=None, ge=0, le=MAX_LIVES)
    flat_annual_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    escalator_pct: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=4)
    external_id: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> SubscriptionIn:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.price_model is PriceModel.PEPM and (self.pepm_cents is None or self.covered_lives is None):
            raise ValueError("a PEPM subscription needs pepm_cents and covered_lives")
        if self.price_model is PriceModel.FLAT_ANNUAL and self.flat_annual_cents is None:
            raise ValueError("a flat annual subscription needs flat_annual_cents")
        return self


class AmendmentIn(NoNulModel):
    """A mid-term change: the term ends the day before ``effective`` and a new one carries on to its end
    with the new price or covered lives (a field left out keeps the term's)."""

    model_config = ConfigDict(extra="forbid")

    effective: Day
    pepm_cents: int | None = Field(default=None, ge=0, le=MAX_PEPM_CENTS)
    covered_lives: int | None = Field(default=None, ge=0, le=MAX_LIVES)
    flat_annual_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    effective_on: date
    kind: MovementKind
    amount_cents: int
    arr_after_cents: int
    renewal_base_cents: int


class RetentionQuery(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    start: Day
    end: Day
    by: Literal["segment", "csm", "cohort", "region", "none"] = "none"

    @model_validator(mode="after")
    def _ordered(self) -> RetentionQuery:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self


class RetentionRow(BaseModel):
    group: str
    period_start: date
    period_end: date
    customers_start: int
    customers_lost: int
    customers_new: int
    start_arr: int
    new: int
    reactivation: int
    expansion: int
    escalator: int
    contraction: int
    churn: int
    end_arr: int
    grr: float | None
    nrr: float | None
    logo_churn: float | None
    nrr_12m: float | None = None
