"""Stage probabilities calibrated from the organisation's own closed opportunities.

For an open stage s, the calibrated probability is the win rate of the closed opportunities that were
ever in s (a deal that skipped s says nothing about it). Small samples are shrunk towards a default
table with a Beta prior: with n closed deals that reached s, w of them won, and the default p0,

    p = (w + k * p0) / (n + k)

which is the posterior mean of a Beta(k * p0, k * (1 - p0)) prior, i.e. the default counts as k
pseudo-deals (``PRIOR_WEIGHT`` = 10). With no history p = p0; with 10 deals the data and the default
weigh the same; with hundreds the data dominate.

Renewals and new ARR (expansion, upsell, cross-sell) win at very different rates, so each family has
its own defaults and its own calibration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

PRIOR_WEIGHT = 10.0
OPEN_STAGES = ("qualify", "discover", "propose", "negotiate")
RENEWAL = "renewal"
NEW_ARR = "new_arr"
FAMILIES = (RENEWAL, NEW_ARR)

# Without history: most renewals renew; new ARR wins less often and the odds rise with each stage.
DEFAULT_PROBABILITIES: dict[str, dict[str, float]] = {
    RENEWAL: {"qualify": 0.80, "discover": 0.82, "propose": 0.85, "negotiate": 0.90},
    NEW_ARR: {"qualify": 0.10, "discover": 0.20, "propose": 0.40, "negotiate": 0.60},
}
CLOSED_PROBABILITY = {"closed_won": 1.0, "closed_lost": 0.0}


def family_of(kind: str) -> str:
    return RENEWAL if kind == "renewal" else NEW_ARR


@dataclass(frozen=True)
class StageProbability:
    family: str
    stage: str
    reached: int  # closed opportunities that were ever in this stage
    won: int
    default: float
    probability: float

    @property
    def observed_win_rate(self) -> float | None:
        return self.won / self.reached if self.reached else None


class ProbabilityTable:
    """Looks up the probability of a (kind, stage); closed stages are certain."""

    def __init__(self, rows: Iterable[StageProbability]) -> None:
        self.rows = list(rows)
        self._by_key = {(r.family, r.stage): r.probability for r in self.rows}

    def probability(self, kind: str, stage: str) -> float:
        if stage in CLOSED_PROBABILITY:
            return CLOSED_PROBABILITY[stage]
        return self._by_key[(family_of(kind), stage)]


def calibrate(
    reached: pd.DataFrame,
    defaults: Mapping[str, Mapping[str, float]] = DEFAULT_PROBABILITIES,
    prior_weight: float = PRIOR_WEIGHT,
) -> ProbabilityTable:
    """``reached``: one row per (closed opportunity, open stage it was ever in) with columns
    opportunity_id, kind, stage, won (bool). An empty frame gives the defaults."""
    if prior_weight < 0:
        raise ValueError("the prior weight cannot be negative")
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    if not reached.empty:
        frame = reached.drop_duplicates(["opportunity_id", "stage"]).assign(
            family=lambda f: f["kind"].map(family_of)
        )
        grouped = frame.groupby(["family", "stage"])["won"].agg(["count", "sum"])
        counts = {(str(f), str(s)): (int(n), int(w)) for (f, s), (n, w) in grouped.iterrows()}
    rows = []
    for family in FAMILIES:
        for stage in OPEN_STAGES:
            p0 = float(defaults[family][stage])
            n, w = counts.get((family, stage), (0, 0))
            probability = (w + prior_weight * p0) / (n + prior_weight) if n + prior_weight > 0 else p0
            rows.append(StageProbability(family, stage, n, w, p0, probability))
    return ProbabilityTable(rows)


def reached_stages(history: pd.DataFrame, closed_before: pd.Timestamp | None = None) -> pd.DataFrame:
    """From history rows (opportunity_id, kind, at, stage) the (opportunity, open stage, won) rows of
    opportunities whose last state, among rows before ``closed_before`` (all rows when None), is closed."""
    columns = ["opportunity_id", "kind", "stage", "won"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    rows = history if closed_before is None else history[history["at"] < closed_before]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.sort_values(["opportunity_id", "at"], kind="stable")
    last = rows.groupby("opportunity_id")["stage"].last()
    closed = last[last.isin(list(CLOSED_PROBABILITY))]
    inside = rows[rows["opportunity_id"].isin(closed.index) & rows["stage"].isin(OPEN_STAGES)]
    out = inside[["opportunity_id", "kind", "stage"]].drop_duplicates(["opportunity_id", "stage"]).copy()
    out["won"] = out["opportunity_id"].map(closed == "closed_won").astype(bool)
    return out.reset_index(drop=True)[columns]
