"""ARR from subscriptions: each term becomes dated steps (start, escalator anniversaries, end), and the
ARR of an account on a day is the sum of the steps in effect that day. Money is integer cents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from opsdesk.core.errors import ValidationFailed

if TYPE_CHECKING:
    import pandas as pd

STEP_COLUMNS = ["account_id", "subscription_id", "effective", "delta_cents", "cause"]


@dataclass(frozen=True)
class Term:
    """The pricing facts of one subscription that ARR depends on."""

    subscription_id: int
    account_id: int
    start: date
    end: date  # last day of service, inclusive
    annual_cents: int  # ARR in the first contract year
    escalator_pct: Decimal = Decimal(0)
    anniversary_base: date | None = None  # the original start when this term amends an earlier one
    amended: bool = False  # ended early by an amendment, so its end is not up for renewal


def annual_value_cents(
    *, price_model: str, pepm_cents: int | None, covered_lives: int | None, flat_annual_cents: int | None
) -> int:
    """First-year ARR: PEPM x covered lives x 12, or the flat annual fee."""
    if price_model == "pepm":
        if pepm_cents is None or covered_lives is None:
            raise ValidationFailed("a PEPM contract needs a price and covered lives", field="pepm_cents")
        value = pepm_cents * covered_lives * 12
    elif price_model == "flat_annual":
        if flat_annual_cents is None:
            raise ValidationFailed("a flat annual contract needs an annual fee", field="flat_annual_cents")
        value = flat_annual_cents
    else:
        raise ValidationFailed(f"unknown price model {price_model!r}", field="price_model")
    if value < 0:
        raise ValidationFailed("ARR cannot be negative", field="price")
    return value


def anniversary(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February falls back to the 28th in common years."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def escalated_cents(annual_cents: int, escalator_pct: Decimal, years: int) -> int:
    """ARR after ``years`` compounded escalations, rounded half-up to the cent."""
    factor = (Decimal(1) + escalator_pct / Decimal(100)) ** years
    return int((Decimal(annual_cents) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def term_steps(term: Term) -> list[tuple[int, int, date, int, str]]:
    if term.end < term.start:
        raise ValidationFailed("a subscription cannot end before it starts", field="end_date")
    steps = [(term.account_id, term.subscription_id, term.start, term.annual_cents, "start")]
    base = term.anniversary_base or term.start
    current, raises, years = term.annual_cents, 0, 1
    while term.escalator_pct and (when := anniversary(base, years)) <= term.end:
        if when > term.start:
            raises += 1
            raised = escalated_cents(term.annual_cents, term.escalator_pct, raises)
            if raised != current:
                steps.append((term.account_id, term.subscription_id, when, raised - current, "escalator"))
            current = raised
        years += 1
    cause = "amended" if term.amended else "end"
    steps.append((term.account_id, term.subscription_id, term.end + timedelta(days=1), -current, cause))
    return steps


def arr_steps(terms: Iterable[Term]) -> pd.DataFrame:
    """Every ARR change of every term, one row each; ``effective`` is the first day the new ARR applies."""
    import pandas as pd

    rows = [step for term in terms for step in term_steps(term)]
    frame = pd.DataFrame(rows, columns=STEP_COLUMNS)
    frame["effective"] = pd.to_datetime(frame["effective"])
    frame["delta_cents"] = frame["delta_cents"].astype("int64")
    return frame.sort_values(["account_id", "effective", "subscription_id"], ignore_index=True)


def arr_on(steps: pd.DataFrame, day: date) -> dict[int, int]:
    """ARR in cents of each account on ``day`` (accounts with none are left out)."""
    import pandas as pd

    live = steps[steps["effective"] <= pd.Timestamp(day)]
    totals = live.groupby("account_id")["delta_cents"].sum()
    return {int(k): int(v) for k, v in totals.items() if v}


def daily_arr(steps: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """ARR per account per day from ``first`` to ``last``: a frame indexed by day, one column per account."""
    import pandas as pd

    days = pd.date_range(first, last, freq="D")
    per_day = steps.pivot_table(
        index="effective", columns="account_id", values="delta_cents", aggfunc="sum", fill_value=0
    )
    cumulative = per_day.sort_index().cumsum()
    daily = cumulative.reindex(cumulative.index.union(days)).ffill().fillna(0).loc[days]
    return daily.astype("int64")
