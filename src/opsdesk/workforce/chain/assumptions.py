"""What a planning scenario assumes: the levers a planner changes, each with the unit it is read in.

A scenario copies every assumption it uses, so a stored scenario can be recomputed and compared without
looking up anything that may have changed since (except the data the chain fits: success data and desk
history, whose fitted values are stored with each step).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.channels import Channel
from opsdesk.workforce.default_plan import CHANNELS, DEMO_SITES, DEMO_SPANISH_SITES, default_plan
from opsdesk.workforce.planning import ChannelPlan
from opsdesk.workforce.sites import KeyProblem, SitesConfig, validation_failed

MAX_MONTHS = 24


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrowthAssumptions(_Strict):
    """Customer growth: the success data's forecast, moved by a planner's view of the market."""

    # Added to the forecast's growth, compounding monthly: 1.0 means 1% a month more covered lives.
    extra_monthly_growth_pct: float = Field(default=0.0, ge=-25, le=25)
    # Renewal probability of a term ending in the horizon that has no renewal opportunity yet.
    default_renewal_probability: float = Field(default=0.85, ge=0, le=1)
    # Converts an expansion's ARR into lives when the book has no per-life (PEPM) contract to price by.
    annual_price_per_life_cents: int = Field(default=6_000, ge=1, le=10**9)


class ContactAssumptions(_Strict):
    """Contacts per covered life, fitted from the desk's recent history."""

    fit_weeks: int = Field(default=4, ge=1, le=26)  # complete weeks of history the rate is fitted on
    # Multiplies every fitted rate: 1.1 means each life writes in 10% more often.
    rate_factor: float = Field(default=1.0, gt=0, le=10)


class QueueAssumptions(_Strict):
    """How each skill's languages are queued (opsdesk.workforce.chain.queues)."""

    # A language gets its own Erlang queue when that queue would keep its agents at least this busy at
    # the channel's service level; below it, the language is pooled with the skill's largest language
    # and answered by multilingual agents. 1.0 pools nearly every language, a small value splits them.
    min_own_queue_occupancy: float = Field(default=0.5, gt=0, le=1)


class HiringAssumptions(_Strict):
    """Supply: who stays, how long a hire takes to start and to become fully productive."""

    attrition_monthly: float = Field(default=0.03, ge=0, lt=1)
    lead_time_months: int = Field(default=2, ge=0, le=12)
    ramp: list[float] = Field(default_factory=lambda: [0.4, 0.7, 0.9], max_length=12)
    # Time off (holidays, sickness) that the interval shrinkage does not hold: paid but not on shift.
    absence: float = Field(default=0.10, ge=0, lt=1)

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, value: list[float]) -> list[float]:
        for i, productivity in enumerate(value):
            if not 0 <= productivity <= 1:
                raise KeyProblem(f"[{i}]", "productivity is a fraction between 0 and 1")
        return value


class Assumptions(_Strict):
    start_month: str
    months: int = Field(default=12, ge=1, le=MAX_MONTHS)
    interval_minutes: int = 60
    schedule_time_limit_seconds: float = Field(default=10.0, gt=0, le=120)
    growth: GrowthAssumptions = Field(default_factory=GrowthAssumptions)
    contacts: ContactAssumptions = Field(default_factory=ContactAssumptions)
    channels: dict[Channel, ChannelPlan] = Field(min_length=1)
    sites: SitesConfig
    queues: QueueAssumptions = Field(default_factory=QueueAssumptions)
    hiring: HiringAssumptions = Field(default_factory=HiringAssumptions)
    # Annual salary in cents per site and team (the role a hire fills); a team left out costs nothing.
    salaries: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("start_month", mode="before")
    @classmethod
    def _month(cls, value: Any) -> str:
        text = str(value).strip()
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
            raise ValueError("expected a month like 2027-01")
        return text

    @field_validator("interval_minutes")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value not in (15, 30, 60):
            raise ValueError("the interval is 15, 30 or 60 minutes")
        return value

    @model_validator(mode="after")
    def _check(self) -> Assumptions:
        teams = {site.name: {team.name for team in site.teams} for site in self.sites.sites}
        for site, by_team in self.salaries.items():
            if site not in teams:
                raise KeyProblem(f"salaries.{site}", "unknown site (not under sites)")
            for team, cents in by_team.items():
                if team not in teams[site]:
                    raise KeyProblem(f"salaries.{site}.{team}", "unknown team of that site")
                if not 0 <= cents <= 10**10:
                    raise KeyProblem(f"salaries.{site}.{team}", "out of range")
        return self

    def month_label(self, index: int) -> str:
        year, month = map(int, self.start_month.split("-"))
        year, month0 = divmod(year * 12 + month - 1 + index, 12)
        return f"{year:04d}-{month0 + 1:02d}"


def parse_assumptions(data: Any) -> Assumptions:
    """Checked assumptions; an error names the key path (``channels.phone.aht_seconds``)."""
    if not isinstance(data, dict):
        raise ValidationFailed("the assumptions must be a mapping of keys", field="assumptions")
    try:
        return Assumptions.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


# Annual salaries of the demo's roles in cents: L1 advocates and L2 engineers, by site.
DEMO_SALARIES = {
    "Chicago": {"L1": 5_200_000, "L2": 8_500_000},
    "Seattle": {"L1": 5_800_000, "L2": 9_800_000},
    "San Francisco": {"L1": 6_200_000, "L2": 11_000_000},
    "Manila": {"L1": 1_100_000, "L2": 2_000_000},
    "Dublin": {"L1": 4_200_000, "L2": 6_800_000},
}


# Spanish-speaking members write in for a few percent of the L1 work; the demo's sites whose people
# speak Spanish (opsdesk.demo.people.SITES) answer it with bilingual advocates.
DEMO_SPANISH_SHARE = 0.08


def demo_sites_with_spanish(sites: dict[str, Any]) -> dict[str, Any]:
    """The demo's sites with Spanish L1 work in the demand mix, taken by the L1 advocates of the sites
    that speak Spanish, so the plan decides whether Spanish gets its own queue or shares the English one."""
    sites = copy.deepcopy(sites)
    l2 = sum(d["share"] for d in sites["demand_mix"] if d["skill"] == "L2")
    l1 = round(1 - l2 - DEMO_SPANISH_SHARE, 6)
    sites["demand_mix"] = [
        {"skill": "L1", "language": "en", "share": l1},
        {"skill": "L1", "language": "es", "share": DEMO_SPANISH_SHARE},
        *[d for d in sites["demand_mix"] if d["skill"] == "L2"],
    ]
    for site in sites["sites"]:
        if site["name"] in DEMO_SPANISH_SITES:
            assert "es" in site["languages"], site["name"]
            for team in site["teams"]:
                if team["name"] == "L1":
                    team["languages"] = ["en", "es"]
    return sites


def default_assumptions(now: datetime) -> dict[str, Any]:
    """The demo organisation's scenario: its sites, channels and hiring terms (as `default_plan`), with
    Spanish L1 work answered by the bilingual advocates of Chicago and San Francisco."""
    plan = default_plan(now)
    hiring = plan["hiring"]
    assert {site[0] for site in DEMO_SITES} == set(DEMO_SALARIES)
    return {
        "start_month": hiring["start_month"],
        "months": 12,
        "interval_minutes": 60,
        "schedule_time_limit_seconds": 10,
        "growth": GrowthAssumptions().model_dump(),
        "contacts": ContactAssumptions().model_dump(),
        "channels": copy.deepcopy(CHANNELS),
        "sites": demo_sites_with_spanish(plan["sites"]),
        "queues": QueueAssumptions().model_dump(),
        "hiring": {
            "attrition_monthly": hiring["attrition_monthly"],
            "lead_time_months": hiring["lead_time_months"],
            "ramp": hiring["ramp"],
            "absence": 0.10,
        },
        "salaries": copy.deepcopy(DEMO_SALARIES),
    }
