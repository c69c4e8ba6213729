"""Link 1: covered lives per month and segment, forecast from the customer-success book.

Support volume comes from the members of employer customers, so the driver is covered lives. Starting
from the lives of every account that has not churned, each month of the horizon adds and removes the
expected lives of what the book already knows about:
- renewals: a term ending in the horizon with no later term keeps its lives with the renewal
  opportunity's probability (the calibrated stage probability, or the assumption when there is no
  opportunity yet), so (1 - p) x lives leave on the day after the term ends;
- the weighted pipeline: an open expansion, upsell or cross-sell adds p x (ARR / annual price per life)
  lives from its close date; on an account still in implementation it is a new customer going live.
Then the planner's extra growth compounds on top. A month's lives are those in force on its last day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

UNSEGMENTED = "(no segment)"


@dataclass(frozen=True)
class BookAccount:
    segment: str
    lives: int


@dataclass(frozen=True)
class EndingTerm:
    segment: str
    lives: int
    ends_on: date  # last day of service
    renewal_probability: float


@dataclass(frozen=True)
class PipelineDeal:
    segment: str
    close_date: date
    arr_cents: int
    probability: float
    new_customer: bool


def month_end(label: str) -> date:
    year, month = map(int, label.split("-"))
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def forecast_lives(
    accounts: Sequence[BookAccount],
    renewals: Sequence[EndingTerm],
    pipeline: Sequence[PipelineDeal],
    months: Sequence[str],
    *,
    annual_price_per_life_cents: int,
    extra_monthly_growth_pct: float,
) -> dict[str, object]:
    """Lives per segment and month (``months`` are labels like 2027-01) with what moved them."""
    segments = sorted(
        {a.segment for a in accounts} | {r.segment for r in renewals} | {d.segment for d in pipeline}
    )
    start = {segment: float(sum(a.lives for a in accounts if a.segment == segment)) for segment in segments}
    by_segment: dict[str, list[float]] = {segment: [] for segment in segments}
    renewal_loss = [0.0] * len(months)
    new_lives = [0.0] * len(months)
    expansion_lives = [0.0] * len(months)
    for m, label in enumerate(months):
        last_day = month_end(label)
        factor = (1 + extra_monthly_growth_pct / 100) ** (m + 1)
        for segment in segments:
            lost = sum(
                (1 - r.renewal_probability) * r.lives
                for r in renewals
                if r.segment == segment and r.ends_on < last_day
            )
            gained = sum(
                d.probability * d.arr_cents / annual_price_per_life_cents
                for d in pipeline
                if d.segment == segment and d.close_date <= last_day
            )
            by_segment[segment].append(round(max(0.0, start[segment] - lost + gained) * factor, 1))
        renewal_loss[m] = round(
            sum((1 - r.renewal_probability) * r.lives for r in renewals if r.ends_on < last_day), 1
        )
        for d in pipeline:
            if d.close_date <= last_day:
                lives = d.probability * d.arr_cents / annual_price_per_life_cents
                if d.new_customer:
                    new_lives[m] += lives
                else:
                    expansion_lives[m] += lives
    total = [round(sum(by_segment[s][m] for s in segments), 1) for m in range(len(months))]
    return {
        "months": list(months),
        "start_lives": round(sum(start.values()), 1),
        "start_by_segment": {s: round(v, 1) for s, v in start.items()},
        "by_segment": by_segment,
        "total": total,
        "renewal_loss_cumulative": renewal_loss,
        "new_customer_lives_cumulative": [round(v, 1) for v in new_lives],
        "expansion_lives_cumulative": [round(v, 1) for v in expansion_lives],
        "ending_terms": len(renewals),
        "open_deals": len(pipeline),
        "extra_monthly_growth_pct": extra_monthly_growth_pct,
    }
