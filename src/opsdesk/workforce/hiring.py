"""Hiring plan: monthly headcount by site and skill that keeps productive FTE up with customer growth.

Demand: customers x contacts per customer per month x handle time gives workload hours; one FTE gives
hours_per_month x (1 - shrinkage) x occupancy hours of handling, so required FTE = workload / that.
Supply: people in cohorts. The starting headcount is fully productive; a hire is productive by the ramp
curve (ramp[0] in their first month, ramp[1] in their second, 100% after the list). Everyone leaves at the
monthly attrition rate (expected leavers, so headcount is fractional while hires are whole people). A hire
starts `lead_time_months` after its requisition, so the first months can only be covered by who is there.

Rule: hires starting in month m are the fewest whole people that make productive FTE meet required FTE in
the month they are fully ramped (m + len(ramp), or the plan's last month). This accepts the ramp-up dip
(shown as coverage below 100%) instead of over-hiring people who will be surplus once productive.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opsdesk.workforce.sites import KeyProblem, read_yaml, validation_failed

HIRING_COLUMNS = [
    "month",
    "site",
    "skill",
    "required_fte",
    "productive_fte",
    "headcount",
    "attrition",
    "hires_starting",
    "requisitions",
    "requisition_start_month",
    "coverage_pct",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FteBasis(_Strict):
    hours_per_month: float = Field(default=160.0, gt=0)
    shrinkage: float = Field(default=0.30, ge=0, lt=1)
    occupancy: float = Field(default=0.85, gt=0, le=1)

    @property
    def handling_hours(self) -> float:
        """Hours of handling one FTE delivers in a month."""
        return self.hours_per_month * (1 - self.shrinkage) * self.occupancy


class SkillDemand(_Strict):
    contacts_per_customer_month: float = Field(ge=0)
    handle_minutes: float = Field(gt=0)


class SitePlan(_Strict):
    share: dict[str, float]  # share of each skill's work this site takes
    headcount: dict[str, float] = Field(default_factory=dict)  # at the plan's start, fully productive
    attrition_monthly: float | None = Field(default=None, ge=0, lt=1)


class HiringPlan(_Strict):
    start_month: str
    customers: list[float] = Field(min_length=1)  # forecast per month; its length is the plan's length
    fte: FteBasis = Field(default_factory=FteBasis)
    attrition_monthly: float = Field(default=0.0, ge=0, lt=1)
    lead_time_months: int = Field(default=0, ge=0, le=24)
    ramp: list[float] = Field(default_factory=list)
    skills: dict[str, SkillDemand] = Field(min_length=1)
    sites: dict[str, SitePlan] = Field(min_length=1)

    @field_validator("start_month", mode="before")
    @classmethod
    def _month(cls, value: Any) -> str:
        text = str(value).strip()
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
            raise ValueError("expected a month like 2027-01")
        return text

    @field_validator("customers")
    @classmethod
    def _customers(cls, value: list[float]) -> list[float]:
        for i, count in enumerate(value):
            if count < 0:
                raise KeyProblem(f"[{i}]", "a customer count must not be negative")
        return value

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, value: list[float]) -> list[float]:
        for i, productivity in enumerate(value):
            if not 0 <= productivity <= 1:
                raise KeyProblem(f"[{i}]", "productivity is a fraction between 0 and 1")
        return value

    @model_validator(mode="after")
    def _check(self) -> HiringPlan:
        for name, site in self.sites.items():
            for key in ("share", "headcount"):
                for skill, value in getattr(site, key).items():
                    if skill not in self.skills:
                        raise KeyProblem(f"sites.{name}.{key}.{skill}", "unknown skill (not under skills)")
                    if value < 0 or (key == "share" and value > 1):
                        raise KeyProblem(f"sites.{name}.{key}.{skill}", "out of range")
        for skill in self.skills:
            total = sum(site.share.get(skill, 0.0) for site in self.sites.values())
            if abs(total - 1.0) > 1e-6:
                raise KeyProblem("sites", f"shares of skill {skill} add up to {total:g}, not 1")
        return self

    def month_label(self, index: int) -> str:
        year, month = map(int, self.start_month.split("-"))
        year, month0 = divmod(year * 12 + month - 1 + index, 12)
        return f"{year:04d}-{month0 + 1:02d}"


@dataclass(frozen=True)
class MonthPlan:
    required_fte: float
    productive_fte: float
    headcount: float  # at the start of the month, hires of the month included
    attrition: float  # expected leavers during the month
    hires_starting: int
    requisitions: int  # to open this month, for hires starting lead_time_months later
    # The month whose need this month's hires answer (None inside the lead time: nobody can start yet),
    # and the productive FTE the staff already there would give in it, after attrition.
    target_month: int | None = None
    projected_fte: float | None = None


def productivity(ramp: Sequence[float], tenure_month: int) -> float:
    """Share of a full FTE's output in the given month of tenure (1 = the month they start)."""
    return ramp[tenure_month - 1] if tenure_month <= len(ramp) else 1.0


def project_stream(
    required: Sequence[float],
    start_headcount: float,
    *,
    attrition: float,
    lead_time: int,
    ramp: Sequence[float],
) -> list[MonthPlan]:
    """Month by month headcount and hires for one site and skill."""
    months = len(required)
    cohorts: list[tuple[int | None, float]] = [(None, start_headcount)]  # (start month, people now)
    hires = [0] * months

    def output(start: int | None, month: int) -> float:
        return 1.0 if start is None else productivity(ramp, month - start + 1)

    rows: list[tuple[float, float, float, float]] = []
    projections: list[tuple[int | None, float | None]] = []
    for month in range(months):
        projections.append((None, None))
        if month >= lead_time:
            target = min(month + len(ramp), months - 1)
            survive = (1 - attrition) ** (target - month)
            projected = sum(size * survive * output(start, target) for start, size in cohorts)
            projections[month] = (target, projected)
            per_hire = survive * output(month, target)
            gap = required[target] - projected
            if gap > 1e-9 and per_hire > 0:
                hires[month] = math.ceil(gap / per_hire - 1e-9)
                cohorts.append((month, float(hires[month])))
        headcount = sum(size for _, size in cohorts)
        productive = sum(size * output(start, month) for start, size in cohorts)
        rows.append((required[month], productive, headcount, headcount * attrition))
        cohorts = [(start, size * (1 - attrition)) for start, size in cohorts]
    return [
        MonthPlan(
            required_fte=need,
            productive_fte=productive,
            headcount=headcount,
            attrition=leavers,
            hires_starting=hires[month],
            requisitions=hires[month + lead_time] if month + lead_time < months else 0,
            target_month=projections[month][0],
            projected_fte=projections[month][1],
        )
        for month, (need, productive, headcount, leavers) in enumerate(rows)
    ]


def required_fte(plan: HiringPlan, site: str, skill: str) -> list[float]:
    demand = plan.skills[skill]
    share = plan.sites[site].share.get(skill, 0.0)
    hours_per_customer = demand.contacts_per_customer_month * demand.handle_minutes / 60
    return [customers * hours_per_customer * share / plan.fte.handling_hours for customers in plan.customers]


def plan_hiring(plan: HiringPlan) -> pd.DataFrame:
    """One row per month, site and skill (HIRING_COLUMNS)."""
    rows = []
    for site_name, site in plan.sites.items():
        attrition = plan.attrition_monthly if site.attrition_monthly is None else site.attrition_monthly
        for skill in plan.skills:
            if skill not in site.share and skill not in site.headcount:
                continue
            stream = project_stream(
                required_fte(plan, site_name, skill),
                site.headcount.get(skill, 0.0),
                attrition=attrition,
                lead_time=plan.lead_time_months,
                ramp=plan.ramp,
            )
            for month, row in enumerate(stream):
                coverage = 100 * row.productive_fte / row.required_fte if row.required_fte else None
                rows.append(
                    [
                        plan.month_label(month),
                        site_name,
                        skill,
                        round(row.required_fte, 2),
                        round(row.productive_fte, 2),
                        round(row.headcount, 2),
                        round(row.attrition, 2),
                        row.hires_starting,
                        row.requisitions,
                        plan.month_label(month + plan.lead_time_months) if row.requisitions else "",
                        None if coverage is None else round(coverage, 1),
                    ]
                )
    return pd.DataFrame(rows, columns=HIRING_COLUMNS)


def parse_plan(data: Any) -> HiringPlan:
    try:
        return HiringPlan.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def load_plan(path: Path) -> HiringPlan:
    return parse_plan(read_yaml(path))
