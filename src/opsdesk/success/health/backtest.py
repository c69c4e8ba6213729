"""Does health predict churn? Pure maths on past snapshots: AUC, lift in the riskiest slice, and weights
fitted to the history at hand.

Each row is one stored snapshot (an account's health on a date, computed from what was known then) and
its label: did the customer churn or contract within the horizon after that date. Risk is 100 - score.

- AUC is the Mann-Whitney statistic: the chance a randomly chosen account that went on to churn looked
  riskier than one that did not (ties count half). 0.5 is a coin toss, 1.0 a perfect ranking.
- Lift at the top decile: the churn rate among the riskiest 10 % of snapshots over the overall rate.
  Snapshots tied at the cut count in proportion, so the answer does not depend on row order.
- Suggested weights: a logistic regression of the label on each measure's risk (100 - value) / 100 with
  non-negative coefficients (a measure may not count backwards) and an L2 penalty (so measures that do
  not help shrink to zero), fitted with scipy's L-BFGS-B. Coefficients on these features are in the same
  units as scorecard weights, so their shares are the suggested weights. A missing value is filled with
  the measure's mean risk, the regression's counterpart of the scorecard re-weighting around it.
- Holdout AUC: the weights are refitted on the earlier two thirds of snapshot dates and scored on the
  later third, an honest estimate where the in-sample AUC of fitted weights flatters them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.stats import rankdata

from opsdesk.success.health.scorecard import MIN_COVERAGE_PCT, whole_weights

TOP_FRACTION = 0.1
L2_PENALTY = 1.0


def auc(risk: ArrayLike, labels: ArrayLike) -> float | None:
    """Area under the ROC curve of ``risk`` for the boolean ``labels``; None without both classes."""
    r = np.asarray(risk, dtype="float64")
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(r)
    u = ranks[y].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def lift_at(risk: ArrayLike, labels: ArrayLike, fraction: float = TOP_FRACTION) -> float | None:
    """Label rate in the riskiest ``fraction`` of rows over the overall rate; None when nobody churned."""
    r = np.asarray(risk, dtype="float64")
    y = np.asarray(labels, dtype="float64")
    if len(r) == 0 or y.sum() == 0:
        return None
    size = fraction * len(r)
    cut = np.sort(r)[::-1][max(math.ceil(size), 1) - 1]
    above, tied = r > cut, r == cut
    from_tied = size - above.sum()  # how many of the tied rows fall inside the slice
    hits = y[above].sum() + (y[tied].mean() * from_tied if tied.any() else 0.0)
    return float((hits / size) / y.mean())


def _risk_features(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each measure's risk in 0..1, a missing value filled with the column mean (columns are never all
    missing here)."""
    risk = (100.0 - values) / 100.0
    return np.where(np.isnan(risk), np.nanmean(risk, axis=0), risk)


def fit_shares(values: ArrayLike, labels: ArrayLike, l2: float = L2_PENALTY) -> NDArray[np.float64] | None:
    """Non-negative logistic coefficients per measure (columns of 0-100 ``values``, NaN = missing);
    None when no measure earns a positive coefficient or a class is missing."""
    v = np.asarray(values, dtype="float64")
    y = np.asarray(labels, dtype="float64")
    if v.ndim != 2 or len(y) == 0 or y.min() == y.max():
        return None
    columns = ~np.all(np.isnan(v), axis=0)
    x = _risk_features(v[:, columns])
    m = x.shape[1]
    if m == 0:
        return None

    def objective(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        w, b = params[:m], params[m]
        z = x @ w + b
        # log(1 + e^z) - y z, written to stay finite for large |z|
        loss = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        grad_w = x.T @ (p - y) + l2 * w
        return loss, np.append(grad_w, np.sum(p - y))

    start = np.zeros(m + 1)
    start[m] = math.log(y.mean() / (1.0 - y.mean()))
    fit = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * m + [(None, None)])
    shares = np.zeros(v.shape[1])
    shares[columns] = np.clip(fit.x[:m], 0.0, None)
    if shares.sum() <= 1e-9 * max(1.0, float(np.abs(fit.x).max())):
        return None
    return shares


def scores_with(values: ArrayLike, weights: ArrayLike) -> NDArray[np.float64]:
    """Scores under other weights, re-weighting over each row's available measures like the scorecard
    does (NaN where too little of the weight has a value)."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    present = ~np.isnan(v)
    weight_sum = present.astype("float64") @ w
    total = np.where(present, v, 0.0) @ w
    enough = (weight_sum > 0) & (weight_sum * 100 >= MIN_COVERAGE_PCT * w.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough, total / weight_sum, np.nan)


@dataclass(frozen=True)
class BacktestResult:
    snapshots: int
    positives: int
    base_rate: float | None
    auc: float | None
    lift_top_decile: float | None
    measure_auc: dict[str, float | None]
    coverage: dict[str, float]  # share of snapshots where the measure had a value
    suggested_weights: dict[str, int] | None = None
    suggested_auc: float | None = None  # in-sample: the fitted weights on the snapshots they came from
    holdout_auc: float | None = None
    notes: list[str] = field(default_factory=list)


def backtest(
    *,
    scores: ArrayLike,
    values: ArrayLike,
    labels: ArrayLike,
    measures: Sequence[str],
    dates: Sequence[date],
    suggest: bool = True,
    l2: float = L2_PENALTY,
) -> BacktestResult:
    """Evaluate stored scores (NaN = unscored, left out) against the labels, per measure too, and
    optionally suggest weights."""
    s = np.asarray(scores, dtype="float64")
    v = np.asarray(values, dtype="float64").reshape(len(s), len(measures))
    y = np.asarray(labels, dtype=bool)
    scored = ~np.isnan(s)
    notes = []
    if (~scored).any():
        notes.append(f"{int((~scored).sum())} snapshots without a score left out")
    s, v, y = s[scored], v[scored], y[scored]
    day = np.asarray([d.toordinal() for d in dates], dtype="int64")[scored]
    measure_auc, coverage = {}, {}
    for index, key in enumerate(measures):
        has = ~np.isnan(v[:, index])
        coverage[key] = float(has.mean()) if len(has) else 0.0
        measure_auc[key] = auc(100.0 - v[has, index], y[has])
    result = BacktestResult(
        snapshots=len(s),
        positives=int(y.sum()),
        base_rate=float(y.mean()) if len(y) else None,
        auc=auc(100.0 - s, y),
        lift_top_decile=lift_at(100.0 - s, y),
        measure_auc=measure_auc,
        coverage=coverage,
        notes=notes,
    )
    if not suggest:
        return result
    shares = fit_shares(v, y, l2)
    if shares is None:
        notes.append("no measure predicted the outcome; no weights suggested")
        return result
    weights = whole_weights(dict(zip(measures, shares.tolist(), strict=True)))
    unseen = [key for key in measures if coverage[key] == 0]
    if unseen:
        notes.append(f"no data for {', '.join(unseen)}: weight 0 suggested for lack of evidence")
    in_sample = scores_with(v, [weights[k] for k in measures])
    return replace(
        result,
        suggested_weights=weights,
        suggested_auc=auc(100.0 - np.nan_to_num(in_sample, nan=50.0), y),
        holdout_auc=_holdout_auc(v, y, day, l2),
    )


def _holdout_auc(
    values: NDArray[np.float64], labels: NDArray[np.bool_], day: NDArray[np.int64], l2: float
) -> float | None:
    distinct = np.unique(day)
    if len(distinct) < 3:
        return None
    split = distinct[(2 * len(distinct)) // 3]
    train, test = day < split, day >= split
    shares = fit_shares(values[train], labels[train], l2)
    if shares is None:
        return None
    held = scores_with(values[test], shares)
    return auc(100.0 - np.nan_to_num(held, nan=50.0), labels[test])
