"""The pipeline forecast by month: category roll-ups, the probability-weighted amount, its range, and
how far past forecasts were from what closed.

Every opportunity counts in the month of its close date (closed-won ones in the month they closed).
Its probability is the manual override when set, else the calibrated stage probability; its forecast
category is the manual override when set, else the stage's default (qualify and discover: pipeline,
propose: best case, negotiate: commit). Omitted opportunities count nowhere. The roll-ups are
cumulative as in Salesforce: commit = closed won + commit, best case = commit + best case, and open
pipeline = every open, non-omitted amount. An open deal whose close date has passed stays in that
past month (as in Salesforce) until its owner moves the date: a slipped deal is not quietly carried.

The range treats each open deal as an independent Bernoulli win with its probability; the closed
amount of a month is then a sum of weighted Bernoullis. Its distribution is computed exactly (the
support is merged value by value) while it has at most ``EXACT_SUPPORT_LIMIT`` distinct values, else
sampled (``MONTE_CARLO_DRAWS`` draws with a fixed seed, so a forecast is repeatable). Pn is the
smallest amount whose cumulative probability reaches n %.

Amounts are integer cents; weighted figures are rounded to the cent at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from opsdesk.success.pipeline.probabilities import (
    DEFAULT_PROBABILITIES,
    PRIOR_WEIGHT,
    ProbabilityTable,
    calibrate,
    reached_stages,
)

EXACT_SUPPORT_LIMIT = 200_000
MONTE_CARLO_DRAWS = 20_000
DEFAULT_CATEGORY = {
    "qualify": "pipeline",
    "discover": "pipeline",
    "propose": "best_case",
    "negotiate": "commit",
}
OPPORTUNITY_COLUMNS = [
    "opportunity_id",
    "kind",
    "amount_cents",
    "stage",
    "close_date",
    "probability_pct",
    "category",
    "closed_on",
]
FORECAST_COLUMNS = [
    "month",
    "opportunities",
    "closed_won",
    "commit",
    "best_case",
    "open_pipeline",
    "weighted",
    "p10",
    "p50",
    "p90",
    "method",
]


@dataclass(frozen=True)
class Distribution:
    """The probability of each possible closed amount (``values`` ascending, in cents)."""

    values: np.ndarray
    probabilities: np.ndarray
    method: str  # "exact" or "monte_carlo"

    def percentile(self, q: float) -> int:
        if not 0 < q < 1:
            raise ValueError("the percentile must be strictly between 0 and 1")
        cumulative = np.cumsum(self.probabilities)
        index = int(np.searchsorted(cumulative, q - 1e-12, side="left"))
        return int(self.values[min(index, len(self.values) - 1)])

    @property
    def mean(self) -> float:
        return float(np.dot(self.values, self.probabilities))


def closed_amount_distribution(
    amounts: np.ndarray | list[int], probabilities: np.ndarray | list[float], seed: int = 0
) -> Distribution:
    """Distribution of sum(amount_i * win_i) with independent win_i ~ Bernoulli(p_i)."""
    amounts = np.asarray(amounts, dtype="int64")
    probabilities = np.asarray(probabilities, dtype="float64")
    if amounts.shape != probabilities.shape:
        raise ValueError("one probability per amount")
    if ((probabilities < 0) | (probabilities > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    values = np.zeros(1, dtype="int64")
    mass = np.ones(1, dtype="float64")
    for amount, p in zip(amounts, probabilities, strict=True):
        if p == 0 or amount == 0:
            continue
        if p == 1:
            values = values + amount
            continue
        merged = np.concatenate([values, values + amount])
        weights = np.concatenate([mass * (1 - p), mass * p])
        values, inverse = np.unique(merged, return_inverse=True)
        mass = np.bincount(inverse, weights=weights)
        if len(values) > EXACT_SUPPORT_LIMIT:
            return _sampled(amounts, probabilities, seed)
    return Distribution(values, mass, "exact")


def _sampled(amounts: np.ndarray, probabilities: np.ndarray, seed: int) -> Distribution:
    rng = np.random.default_rng(seed)
    wins = rng.random((MONTE_CARLO_DRAWS, len(amounts))) < probabilities
    totals = wins.astype("int64") @ amounts
    values, counts = np.unique(totals, return_counts=True)
    return Distribution(values, counts / MONTE_CARLO_DRAWS, "monte_carlo")


def effective_probability(frame: pd.DataFrame, table: ProbabilityTable) -> pd.Series:
    """The override (percent) where set, else the stage probability."""
    stage_p = [table.probability(k, s) for k, s in zip(frame["kind"], frame["stage"], strict=True)]
    override = pd.to_numeric(frame["probability_pct"], errors="coerce") / 100.0
    return override.fillna(pd.Series(stage_p, index=frame.index, dtype="float64")).astype("float64")


def effective_category(frame: pd.DataFrame) -> pd.Series:
    """The override where set, else the stage's default; closed stages are "closed"."""
    default = frame["stage"].map(DEFAULT_CATEGORY).fillna("closed")
    chosen = frame["category"].where(frame["category"].notna(), default)
    return chosen.where(~frame["stage"].isin(["closed_won", "closed_lost"]), "closed")


def months_of(values: pd.Series) -> pd.Series:
    """The month of each date (None for none), for dates of any year: ``pd.to_datetime`` fails on one
    outside 1677-2262, and such a stored row must not break every forecast."""
    return values.map(lambda d: None if pd.isna(d) else pd.Period(year=d.year, month=d.month, freq="M"))


def month_starts(first: date, last: date) -> list[date]:
    return [p.start_time.date() for p in pd.period_range(first, last, freq="M")]


def monthly_forecast(
    opportunities: pd.DataFrame, table: ProbabilityTable, first: date, last: date, seed: int = 0
) -> pd.DataFrame:
    """One row per month from the month of ``first`` to the month of ``last`` (see the module doc)."""
    if last < first:
        raise ValueError("the forecast ends before it starts")
    frame = opportunities.copy()
    frame["p"] = effective_probability(frame, table) if not frame.empty else pd.Series(dtype="float64")
    frame["cat"] = effective_category(frame) if not frame.empty else pd.Series(dtype="object")
    counted_on = frame["closed_on"].where(frame["stage"] == "closed_won", frame["close_date"])
    frame["month"] = months_of(counted_on)
    rows = []
    for start in month_starts(first, last):
        month = frame[(frame["month"] == pd.Period(start, "M"))]
        won = month[month["stage"] == "closed_won"]
        open_ = month[~month["stage"].isin(["closed_won", "closed_lost"]) & (month["cat"] != "omitted")]
        closed_won = int(won["amount_cents"].sum())
        commit = closed_won + int(open_.loc[open_["cat"] == "commit", "amount_cents"].sum())
        best_case = commit + int(open_.loc[open_["cat"] == "best_case", "amount_cents"].sum())
        amounts = open_["amount_cents"].to_numpy(dtype="int64")
        probabilities = open_["p"].to_numpy(dtype="float64")
        weighted = closed_won + round(float(np.dot(amounts, probabilities)))
        spread = closed_amount_distribution(amounts, probabilities, seed)
        rows.append(
            {
                "month": start,
                "opportunities": len(won) + len(open_),
                "closed_won": closed_won,
                "commit": commit,
                "best_case": best_case,
                "open_pipeline": int(amounts.sum()),
                "weighted": weighted,
                "p10": closed_won + spread.percentile(0.10),
                "p50": closed_won + spread.percentile(0.50),
                "p90": closed_won + spread.percentile(0.90),
                "method": spread.method,
            }
        )
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


def state_as_of(history: pd.DataFrame, moment: pd.Timestamp) -> pd.DataFrame:
    """Each opportunity as it stood just before ``moment``, from history rows (opportunity_id, kind, at,
    stage, amount_cents, close_date, probability_pct, category). Opportunities created later are absent."""
    rows = history[history["at"] < moment]
    if rows.empty:
        return pd.DataFrame(columns=OPPORTUNITY_COLUMNS)
    last = rows.sort_values(["opportunity_id", "at"], kind="stable").groupby("opportunity_id").tail(1)
    out = last.assign(closed_on=None)
    return out[OPPORTUNITY_COLUMNS].reset_index(drop=True)


def past_forecasts(
    history: pd.DataFrame,
    won: pd.DataFrame,
    first: date,
    last: date,
    prior_weight: float = PRIOR_WEIGHT,
) -> pd.DataFrame:
    """For each month, the weighted forecast as it could have been made at its start (the pipeline and
    the stage probabilities calibrated from what had closed by then) and the amount actually closed won
    in it. ``won``: closed-won opportunities (amount_cents, closed_on)."""
    rows = []
    won_month = months_of(won["closed_on"]) if not won.empty else pd.Series()
    for start in month_starts(first, last):
        moment = pd.Timestamp(start, tz="UTC")
        table = calibrate(reached_stages(history, moment), DEFAULT_PROBABILITIES, prior_weight)
        state = state_as_of(history, moment) if not history.empty else history
        forecast = 0
        if not state.empty:
            open_ = state[~state["stage"].isin(["closed_won", "closed_lost"])]
            open_ = open_[months_of(open_["close_date"]) == pd.Period(start, "M")]
            open_ = open_[effective_category(open_) != "omitted"]
            if not open_.empty:
                p = effective_probability(open_, table)
                forecast = round(float(np.dot(open_["amount_cents"].to_numpy(dtype="int64"), p)))
        actual = int(won.loc[won_month == pd.Period(start, "M"), "amount_cents"].sum()) if len(won) else 0
        rows.append({"month": start, "forecast": forecast, "actual": actual})
    return pd.DataFrame(rows, columns=["month", "forecast", "actual"])


def accuracy(months: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """Per month (columns month, forecast, actual in cents) the error and percentage error, and overall:
    MAPE (mean |forecast - actual| / actual over months that closed something), WAPE (sum of absolute
    errors / sum of actuals) and bias ((sum of forecasts - sum of actuals) / sum of actuals; positive
    means the forecast ran high)."""
    frame = months.copy()
    frame["error"] = frame["forecast"].astype("int64") - frame["actual"].astype("int64")
    actual = frame["actual"].astype("float64")
    frame["pct_error"] = (frame["error"] / actual).where(actual > 0)
    scored = frame[actual > 0]
    total_actual = float(actual.sum())
    summary: dict[str, float | None] = {
        "months": float(len(frame)),
        "mape": float(scored["pct_error"].abs().mean()) if not scored.empty else None,
        "wape": float(frame["error"].abs().sum()) / total_actual if total_actual > 0 else None,
        "bias": float(frame["error"].sum()) / total_actual if total_actual > 0 else None,
    }
    return frame, summary
