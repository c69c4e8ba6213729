"""The chain run end to end for one scenario's assumptions; every link's output is kept for the page.

Order: growth (success book) -> contacts per life (desk history) -> volume per month on a representative
week -> requirement per site (staffing + follow-the-sun split) -> the first month's week scheduled with
the current teams (coverage) -> headcount need per site and team per month -> hires and cost. Each link
reads only the assumptions and the links before it, so a changed assumption changes what follows it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.chain.assumptions import Assumptions
from opsdesk.workforce.chain.compare import part_label
from opsdesk.workforce.chain.contacts import ChannelFit, describe, fit_channel
from opsdesk.workforce.chain.growth import forecast_lives, month_end
from opsdesk.workforce.chain.headcount import hiring_rows, team_need
from opsdesk.workforce.chain.inputs import read_book
from opsdesk.workforce.chain.requirement import (
    MonthRequirement,
    month_requirement,
    on_shift_hours_per_person,
    site_hours,
    week_grid,
)
from opsdesk.workforce.channels import Channel
from opsdesk.workforce.queries import contact_volume_history
from opsdesk.workforce.scheduling import Horizon, parts_from_split, schedule_jointly
from opsdesk.workforce.staffing import StaffingTargets

# Bounds that keep a request's queueing maths finite (the planner's own limits are far below them).
MAX_AHT_SECONDS = 24 * 3600
MAX_ANSWER_WITHIN_SECONDS = 7 * 24 * 3600
MAX_CONCURRENCY = 20
SCHEDULE_WORKERS = 1  # one CP-SAT worker: the same assumptions give the same schedule on a busy machine


def first_monday(label: str) -> datetime:
    """Monday 00:00 UTC of the first week that starts inside the month: the representative week."""
    year, month = map(int, label.split("-"))
    first = date(year, month, 1)
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def _targets(assumptions: Assumptions) -> dict[Channel, StaffingTargets]:
    targets = {}
    for channel, plan in assumptions.channels.items():
        for key, value, top in (
            ("aht_seconds", plan.aht_seconds, MAX_AHT_SECONDS),
            ("answer_within_seconds", plan.answer_within_seconds, MAX_ANSWER_WITHIN_SECONDS),
            ("concurrency", plan.concurrency, MAX_CONCURRENCY),
        ):
            if value > top:
                raise ValidationFailed(f"at most {top}", field=f"channels.{channel.value}.{key}")
        try:
            targets[channel] = StaffingTargets(
                channel=channel, interval_seconds=assumptions.interval_minutes * 60, **plan.model_dump()
            )
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"channels.{channel.value}.{exc.field}") from None
    return targets


def run_chain(
    session: Session, assumptions: Assumptions, *, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every link's output (JSON-ready) and the per-month summary scenarios are compared on."""
    targets = _targets(assumptions)
    months = [assumptions.month_label(m) for m in range(assumptions.months)]
    notes: list[str] = []

    book = read_book(
        session,
        today=now.date(),
        last_day=month_end(months[-1]),
        default_renewal=assumptions.growth.default_renewal_probability,
        default_price_cents=assumptions.growth.annual_price_per_life_cents,
    )
    growth = forecast_lives(
        book.accounts,
        book.renewals,
        book.pipeline,
        months,
        annual_price_per_life_cents=book.annual_price_per_life_cents,
        extra_monthly_growth_pct=assumptions.growth.extra_monthly_growth_pct,
    )
    growth["annual_price_per_life_cents"] = book.annual_price_per_life_cents
    growth["price_source"] = book.price_source
    lives_now = float(growth["start_lives"])  # type: ignore[arg-type]
    if lives_now <= 0:
        raise ValidationFailed(
            "the customer-success book has no covered lives on live accounts to plan from", field="growth"
        )

    step = pd.Timedelta(minutes=assumptions.interval_minutes)
    end = pd.Timestamp(now).tz_convert(UTC).floor(step)
    fits: dict[Channel, ChannelFit] = {}
    for channel in assumptions.channels:
        raw = contact_volume_history(
            session,
            channel=channel.value,
            step_minutes=assumptions.interval_minutes,
            before=end.to_pydatetime(),
        )
        history = pd.Series(raw["volume"].to_numpy(), index=pd.DatetimeIndex(raw["timestamp"]))
        fit = fit_channel(
            history,
            end=end,
            weeks=assumptions.contacts.fit_weeks,
            interval_minutes=assumptions.interval_minutes,
            lives=lives_now,
        )
        if fit is None:
            notes.append(
                f"{channel.value} left out: no contacts in the last {assumptions.contacts.fit_weeks} weeks"
            )
        else:
            fits[channel] = fit
    if not fits:
        raise ValidationFailed(
            "no channel has contacts in the fitted weeks of desk history", field="contacts"
        )
    contacts = {
        "fitted_until": end.isoformat(),
        "lives": lives_now,
        "rate_factor": assumptions.contacts.rate_factor,
        "channels": {channel.value: describe(fit) for channel, fit in fits.items()},
    }

    start = first_monday(months[0])
    grid = week_grid(start, assumptions.interval_minutes)
    hours = assumptions.interval_minutes / 60
    sites = assumptions.sites
    total_lives: list[float] = growth["total"]  # type: ignore[assignment]
    per_month = [
        month_requirement(
            grid,
            lives,
            fits,
            targets,
            sites,
            rate_factor=assumptions.contacts.rate_factor,
            min_own_queue_occupancy=assumptions.queues.min_own_queue_occupancy,
        )
        for lives in total_lives
    ]
    volume = {
        "week_start": start.isoformat(),
        "weekly_by_channel": {
            channel.value: [round(float(r.volume[channel.value].sum()), 1) for r in per_month]
            for channel in fits
        },
        "first_week": {
            "timestamps": [stamp.isoformat() for stamp in grid],
            "by_channel": {name: [float(v) for v in values] for name, values in per_month[0].volume.items()},
        },
    }
    requirement: dict[str, Any] = {
        "agent_hours_by_channel": {
            channel.value: [round(float(r.agents[channel.value].sum()) * hours, 1) for r in per_month]
            for channel in fits
        },
        "by_site": {site.name: [] for site in sites.sites},
        "unserved": [],
        "first_week_agents": {name: [int(v) for v in values] for name, values in per_month[0].agents.items()},
        "language_queues": _language_queues(months, per_month, assumptions.queues.min_own_queue_occupancy),
    }
    for r in per_month:
        by_site, unserved = site_hours(r.split, hours)
        for site in sites.sites:
            requirement["by_site"][site.name].append(round(by_site.get(site.name, 0.0), 1))
        requirement["unserved"].append(round(unserved, 1))
    requirement["total"] = [
        round(sum(requirement["by_site"][s.name][m] for s in sites.sites), 1) for m in range(len(months))
    ]

    on_duty = on_shift_hours_per_person(sites)
    for i, site in enumerate(sites.sites):
        if on_duty[site.name] <= 0:
            raise ValidationFailed(
                "a person works no hours here: the labour rules leave no working day",
                field=f"sites.sites[{i}].rules",
            )
    horizon = Horizon(start=start, interval=step.to_pytimedelta(), periods=len(grid))
    # The sites are scheduled together against the whole requirement (scheduling.joint): an open site
    # with the skill and language covers another's shortfall, which a fixed split cannot. Each site's
    # schedule then carries the work it took; what nobody on duty could take is the joint `under`.
    parts, required = parts_from_split(per_month[0].split, horizon)
    joint = schedule_jointly(
        sites,
        parts,
        required,
        horizon,
        time_limit=assumptions.schedule_time_limit_seconds,
        workers=SCHEDULE_WORKERS,
    )
    schedule = _schedule_section(joint.sites, hours, float(joint.under.sum()) * hours)
    schedule["joint"] = True
    schedule["status"] = joint.status

    headcount: dict[str, Any] = {
        "on_duty_hours_per_week": on_duty,
        "absence": assumptions.hiring.absence,
        "teams": [],
    }
    rows: list[dict[str, Any]] = []
    for site in sites.sites:
        for team in site.teams:
            need = [
                team_need(
                    r.team_hours.get((site.name, team.name), 0.0),
                    on_duty[site.name],
                    assumptions.hiring.absence,
                )
                for r in per_month
            ]
            headcount["teams"].append(
                {
                    "site": site.name,
                    "team": team.name,
                    "headcount": team.headcount,
                    "need_fte": [round(n, 2) for n in need],
                }
            )
            rows.extend(
                hiring_rows(
                    site,
                    team.name,
                    need,
                    headcount=team.headcount,
                    attrition=assumptions.hiring.attrition_monthly,
                    lead_time=assumptions.hiring.lead_time_months,
                    ramp=assumptions.hiring.ramp,
                    salary_cents=assumptions.salaries.get(site.name, {}).get(team.name, 0),
                    label=assumptions.month_label,
                )
            )
    summary = _summary(months, requirement, schedule, rows, growth, notes)
    chain = {
        "growth": growth,
        "contacts": contacts,
        "volume": volume,
        "requirement": requirement,
        "schedule": schedule,
        "headcount": headcount,
        "hiring": {"rows": rows},
    }
    return chain, summary


def _language_queues(
    months: list[str], per_month: list[MonthRequirement], threshold: float
) -> dict[str, Any]:
    """Which languages got their own queue: the first month's decisions with their numbers (the week
    the schedule is built for), and each month's own queues as channel/skill/language labels."""
    return {
        "min_own_queue_occupancy": threshold,
        "first_month": per_month[0].queues,
        "own_by_month": {
            month: [part_label(d) for d in r.queues if d["queue"] == "own"]
            for month, r in zip(months, per_month, strict=True)
        },
    }


def _schedule_section(schedules: list[Any], hours: float, unserved_hours: float) -> dict[str, Any]:
    sites = {}
    for result in schedules:
        required = int(result.required.sum())
        under = int(result.under.sum())
        sites[result.site] = {
            "status": result.status,
            "shifts": len(result.shifts),
            "agents": len({shift.agent for shift in result.shifts}),
            "required_hours": round(required * hours, 1),
            "scheduled_hours": round(int(result.scheduled.sum()) * hours, 1),
            "covered_hours": round((required - under) * hours, 1),
            "under_hours": round(under * hours, 1),
            "over_hours": round(int(result.over.sum()) * hours, 1),
        }
    required = sum(site["required_hours"] for site in sites.values()) + unserved_hours
    covered = sum(site["covered_hours"] for site in sites.values())
    return {
        "sites": sites,
        "required_hours": round(required, 1),
        "covered_hours": round(covered, 1),
        "scheduled_hours": round(sum(site["scheduled_hours"] for site in sites.values()), 1),
        "under_hours": round(required - covered, 1),
        "over_hours": round(sum(site["over_hours"] for site in sites.values()), 1),
        "covered_pct": round(100 * covered / required, 1) if required else None,
    }


def _summary(
    months: list[str],
    requirement: dict[str, Any],
    schedule: dict[str, Any],
    rows: list[dict[str, Any]],
    growth: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    def per_month(key: str) -> list[float]:
        totals = dict.fromkeys(months, 0.0)
        for row in rows:
            totals[row["month"]] += row[key]
        return [round(totals[m], 2) for m in months]

    hires = [int(v) for v in per_month("hires")]
    need, productive = per_month("need_fte"), per_month("productive_fte")
    cost = [int(v) for v in per_month("cost_cents")]
    return {
        "months": months,
        "lives": growth["total"],
        "requirement_hours": requirement["total"],
        "unserved_hours": requirement["unserved"],
        "need_fte": need,
        "headcount": per_month("headcount"),
        "productive_fte": productive,
        # Productive FTE against need, all teams together (a surplus in one team is counted against a
        # shortfall in another here; the hiring rows are per team).
        "coverage_pct": [round(100 * p / n, 1) if n else None for p, n in zip(productive, need, strict=True)],
        "hires": hires,
        "cost_cents": cost,
        "total_hires": sum(hires),
        "total_cost_cents": sum(cost),
        "schedule_covered_hours": schedule["covered_hours"],
        "schedule_covered_pct": schedule["covered_pct"],
        "notes": notes,
    }


def as_json(value: Any) -> Any:
    """numpy scalars to Python numbers, for the JSON columns."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
