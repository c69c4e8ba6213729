"""Retention maths over data frames: the ARR bridge, GRR, NRR and logo churn for any run of periods,
the renewal-base view, the trailing-twelve-month (public-company) NRR and cohort tables.

Inputs are movements at the customer level (``movements.classify``: customer_id, effective, kind,
amount_cents, renewal_base_cents) and a customers frame (customer_id plus the columns to group by).
The ARR of a customer on a day is the sum of its movements effective on or before that day.

Definitions, for a period from F to T inclusive:
- Starting customers have ARR on F-1; their starting ARR is that value. Ending ARR is ARR on T.
- Each starting customer is judged on its net change over the period. If it has no ARR on T it churned:
  churn is its starting ARR (uplifts it had before leaving net into that). Otherwise its escalator
  uplift inside the period is the escalator line and the remaining change is expansion or contraction.
  So a customer that churns and returns within the period is not lost: the return nets out the churn
  and only the difference shows as expansion or contraction.
- A customer without ARR on F-1 but with ARR on T is new business (its ARR on T) or, if it had ARR
  at any time before F, a reactivation. Both are left out of GRR and NRR.
- GRR = (start - contraction - churn) / start, at most 100%.
  NRR = (start + expansion + escalator - contraction - churn) / start: the same customers' ARR on T over
  their ARR on F-1 (escalators count as retained revenue but are reported on their own line).
  Logo churn = starting customers lost / starting customers.
- start + new + reactivation + expansion + escalator - contraction - churn = end, per group.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

UNASSIGNED = "(none)"
AMOUNT_LINES = [
    "start_arr",
    "new",
    "reactivation",
    "expansion",
    "escalator",
    "contraction",
    "churn",
    "end_arr",
]
BRIDGE_COLUMNS = [
    "group",
    "period_start",
    "period_end",
    "customers_start",
    "customers_lost",
    "customers_new",
    *AMOUNT_LINES,
    "grr",
    "nrr",
    "logo_churn",
]


def _days(values: pd.Series | Sequence[date]) -> np.ndarray:
    return np.asarray(pd.to_datetime(pd.Series(values)).values.astype("datetime64[D]").astype("int64"))


def _day(value: date) -> int:
    return int(np.datetime64(value, "D").astype("int64"))


class _Ledger:
    """Customers' ARR at a run of boundary days, built once with integer cumulative sums.

    ``arr[:, j]`` is each customer's ARR on the day before ``boundaries[j]``; ``escalated[:, j]`` is the
    escalator uplift effective in [boundaries[j-1], boundaries[j]).
    """

    def __init__(self, movements: pd.DataFrame, boundaries: Sequence[date]) -> None:
        self.customer_ids, index = np.unique(
            movements["customer_id"].to_numpy(dtype="int64"), return_inverse=True
        )
        days = _days(movements["effective"])
        self.boundaries = np.array([_day(b) for b in boundaries], dtype="int64")
        bucket = np.searchsorted(self.boundaries, days, side="right")
        width = len(self.boundaries) + 1
        amounts = movements["amount_cents"].to_numpy(dtype="int64")
        flat = index * width + bucket
        size = len(self.customer_ids) * width
        deltas = _integer_bincount(flat, amounts, size).reshape(-1, width)
        self.arr = np.cumsum(deltas, axis=1)[:, :-1]
        is_escalator = (movements["kind"] == "escalator").to_numpy()
        self.escalated = _integer_bincount(flat[is_escalator], amounts[is_escalator], size).reshape(-1, width)
        self.first_day = _first_arrivals(index, days, movements["kind"].to_numpy(), len(self.customer_ids))


class _Cells:
    """Movements summed per customer and bucket (the days between two boundaries), in customer order,
    with each customer's ARR just before and just after the bucket. Only cells where something moved
    exist, so a bridge over many periods costs as much as the movements, not customers x periods."""

    def __init__(self, movements: pd.DataFrame, boundaries: Sequence[date]) -> None:
        self.customer_ids, index = np.unique(
            movements["customer_id"].to_numpy(dtype="int64"), return_inverse=True
        )
        days = _days(movements["effective"])
        self.boundaries = np.array([_day(b) for b in boundaries], dtype="int64")
        width = len(self.boundaries) + 1
        key = index * width + np.searchsorted(self.boundaries, days, side="right")
        order = np.argsort(key, kind="stable")
        key = key[order]
        firsts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        amounts = movements["amount_cents"].to_numpy(dtype="int64")[order]
        kinds = movements["kind"].to_numpy()[order]
        self.customer, self.bucket = key[firsts] // width, key[firsts] % width
        self.delta = np.add.reduceat(amounts, firsts)
        self.escalated = np.add.reduceat(np.where(kinds == "escalator", amounts, 0), firsts)
        running = np.cumsum(self.delta)
        new_customer = np.r_[True, self.customer[1:] != self.customer[:-1]]
        carried = (running - self.delta)[new_customer][np.cumsum(new_customer) - 1]
        self.after = running - carried
        self.before = self.after - self.delta
        self.first_day = _first_arrivals(index[order], days[order], kinds, len(self.customer_ids))


def _first_arrivals(index: np.ndarray, days: np.ndarray, kinds: np.ndarray, customers: int) -> np.ndarray:
    """Each customer's first day with ARR (new business or a return); int64 max when it never had any."""
    arrivals = np.isin(kinds, ["new_business", "reactivation"])
    first = np.full(customers, np.iinfo("int64").max, dtype="int64")
    np.minimum.at(first, index[arrivals], days[arrivals])
    return first


def _integer_bincount(flat: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Exact integer sums per bin (bincount's float weights could round large cent totals)."""
    out = np.zeros(size, dtype="int64")
    np.add.at(out, flat, weights)
    return out


def _stamps(days: np.ndarray) -> pd.DatetimeIndex:
    """Day numbers as timestamps; the "never" marker becomes NaT."""
    never = days == np.iinfo("int64").max
    return pd.DatetimeIndex(np.where(never, np.datetime64("NaT"), days.astype("datetime64[D]")))


def _group_labels(
    customer_ids: np.ndarray, first_day: np.ndarray, customers: pd.DataFrame, by: str | None
) -> np.ndarray:
    if by is None or by == "none":
        return np.full(len(customer_ids), "all", dtype=object)
    if by == "cohort":
        periods = pd.PeriodIndex(_stamps(first_day), freq="Q")
        return np.array(
            [UNASSIGNED if pd.isna(p) else f"{p.year}Q{p.quarter}" for p in periods], dtype=object
        )
    if by not in customers.columns:
        raise ValueError(f"cannot group by {by!r}: no such customer column")
    labels = customers.set_index("customer_id")[by].reindex(customer_ids)
    return labels.fillna(UNASSIGNED).astype(str).to_numpy(dtype=object)


def _sum_by_group(
    labels: np.ndarray, columns: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    if len(codes) == 0:
        return names, {key: value[:0] for key, value in columns.items()}
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    return names, {key: np.add.reduceat(value[order], starts, axis=0) for key, value in columns.items()}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def bridge(
    movements: pd.DataFrame,
    customers: pd.DataFrame,
    periods: Sequence[tuple[date, date]],
    by: str | None = None,
) -> pd.DataFrame:
    """The ARR bridge and GRR/NRR/logo churn of each group for each period; periods must be consecutive
    (each starts the day after the previous one ends)."""
    if not periods:
        raise ValueError("at least one period is needed")
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start != end + timedelta(days=1):
            raise ValueError("periods must follow each other without gaps")
    for start, end in periods:
        if end < start:
            raise ValueError(f"period {start}..{end} ends before it starts")
    boundaries = [start for start, _ in periods] + [periods[-1][1] + timedelta(days=1)]
    if movements.empty:
        return pd.DataFrame(columns=BRIDGE_COLUMNS)
    cells = _Cells(movements, boundaries)
    labels = _group_labels(cells.customer_ids, cells.first_day, customers, by)
    names, group_of_customer = np.unique(labels.astype(str), return_inverse=True)
    n_groups, n_periods = len(names), len(periods)
    group = group_of_customer[cells.customer]

    # Levels (ARR and customers at each boundary) are running sums of what changed in each bucket.
    def levels(values: np.ndarray) -> np.ndarray:
        per_bucket = np.zeros((n_groups, n_periods + 2), dtype="int64")
        np.add.at(per_bucket, (group, cells.bucket), values)
        return np.cumsum(per_bucket, axis=1)[:, : n_periods + 1]

    arr_level = levels(cells.delta)
    customer_level = levels((cells.after > 0).astype("int64") - (cells.before > 0).astype("int64"))

    # Flows come only from the cells (customer x period) where something moved.
    inside = (cells.bucket >= 1) & (cells.bucket <= n_periods)
    period = cells.bucket[inside] - 1
    start, end, escalated = cells.before[inside], cells.after[inside], cells.escalated[inside]
    had_before = cells.first_day[cells.customer[inside]] < cells.boundaries[period]
    present, stays = start > 0, end > 0
    retained, arriving, lost = present & stays, ~present & stays, present & ~stays
    change = end - start - escalated
    flows = {
        "customers_lost": lost.astype("int64"),
        "customers_new": arriving.astype("int64"),
        "new": np.where(arriving & ~had_before, end, 0),
        "reactivation": np.where(arriving & had_before, end, 0),
        "expansion": np.where(retained & (change > 0), change, 0),
        "escalator": np.where(retained, escalated, 0),
        "contraction": np.where(retained & (change < 0), -change, 0),
        "churn": np.where(lost, start, 0),
    }
    flat_index = group[inside] * n_periods + period
    columns: dict[str, np.ndarray] = {
        "customers_start": customer_level[:, :-1].reshape(-1),
        "start_arr": arr_level[:, :-1].reshape(-1),
        "end_arr": arr_level[:, 1:].reshape(-1),
    }
    for name, values in flows.items():
        columns[name] = _integer_bincount(flat_index, values, n_groups * n_periods)
    frame = pd.DataFrame({key: columns[key] for key in BRIDGE_COLUMNS[3:-3]})
    frame.insert(0, "group", np.repeat(names.astype(object), n_periods))
    frame.insert(1, "period_start", np.tile([pd.Timestamp(p[0]) for p in periods], n_groups))
    frame.insert(2, "period_end", np.tile([pd.Timestamp(p[1]) for p in periods], n_groups))
    start = frame["start_arr"].to_numpy()
    kept = start - frame["contraction"].to_numpy() - frame["churn"].to_numpy()
    frame["grr"] = np.minimum(_ratio(kept, start), 1.0)
    frame["nrr"] = _ratio(kept + frame["expansion"].to_numpy() + frame["escalator"].to_numpy(), start)
    frame["logo_churn"] = _ratio(frame["customers_lost"].to_numpy(), frame["customers_start"].to_numpy())
    return frame[BRIDGE_COLUMNS]


def monthly_periods(first: date, last: date) -> list[tuple[date, date]]:
    """Calendar months from the month of ``first`` to the month of ``last``."""
    months = pd.period_range(first, last, freq="M")
    return [(m.start_time.date(), m.end_time.date()) for m in months]


def trailing_nrr(
    movements: pd.DataFrame, customers: pd.DataFrame, at: date, by: str | None = None
) -> pd.DataFrame:
    """The public-company form: customers with ARR twelve months before ``at``, their ARR on ``at`` over
    their ARR then. Customers won since are left out."""
    before = (pd.Timestamp(at) - pd.DateOffset(months=12)).date()
    columns = ["group", "customers", "arr_then", "arr_now", "nrr_12m"]
    if movements.empty:
        return pd.DataFrame(columns=columns)
    ledger = _Ledger(movements, [before + timedelta(days=1), at + timedelta(days=1)])
    then, now = ledger.arr[:, 0], ledger.arr[:, 1]
    counted = then > 0
    labels = _group_labels(ledger.customer_ids, ledger.first_day, customers, by)
    names, sums = _sum_by_group(
        labels,
        {
            "customers": counted.astype("int64"),
            "arr_then": then * counted,
            "arr_now": np.where(counted, now, 0),
        },
    )
    frame = pd.DataFrame({"group": names, **sums})
    frame["nrr_12m"] = _ratio(frame["arr_now"].to_numpy(), frame["arr_then"].to_numpy())
    return frame[columns]


def renewal_retention(
    movements: pd.DataFrame, customers: pd.DataFrame, start: date, end: date, by: str | None = None
) -> pd.DataFrame:
    """Retention of the ARR that came up for renewal: terms whose renewal day (the day after their last
    day) falls in the period. Changes on that day are read as the renewal outcome; escalators are not."""
    columns = [
        "group",
        "renewals",
        "renewals_lost",
        "renewal_base",
        "renewed_gross",
        "renewed_net",
        "grr",
        "nrr",
    ]
    days = _days(movements["effective"]) if not movements.empty else np.array([], dtype="int64")
    inside = (days >= _day(start)) & (days <= _day(end))
    frame = movements.loc[inside].copy()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["change"] = np.where(frame["kind"].isin(["escalator", "renewal"]), 0, frame["amount_cents"])
    per_day = frame.groupby(["customer_id", "effective"])[["renewal_base_cents", "change"]].sum()
    per_day = per_day[per_day["renewal_base_cents"] > 0]
    base = per_day["renewal_base_cents"].to_numpy(dtype="int64")
    net = np.maximum(base + per_day["change"].to_numpy(dtype="int64"), 0)
    customer_ids = per_day.index.get_level_values("customer_id").to_numpy(dtype="int64")
    first = (
        movements[movements["kind"].isin(["new_business", "reactivation"])]
        .groupby("customer_id")["effective"]
        .min()
    )
    first_day = _days(first.reindex(customer_ids))
    labels = _group_labels(customer_ids, first_day, customers, by)
    names, sums = _sum_by_group(
        labels,
        {
            "renewals": np.ones_like(base),
            "renewals_lost": (net == 0).astype("int64"),
            "renewal_base": base,
            "renewed_gross": np.minimum(base, net),
            "renewed_net": net,
        },
    )
    out = pd.DataFrame({"group": names, **sums})
    out["grr"] = _ratio(out["renewed_gross"].to_numpy(), out["renewal_base"].to_numpy())
    out["nrr"] = _ratio(out["renewed_net"].to_numpy(), out["renewal_base"].to_numpy())
    return out[columns]


def cohort_table(movements: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Net and gross dollar retention of each start-month cohort at month n: ARR at the end of month n
    over ARR at the end of the start month (month 0); gross caps each customer at its month-0 ARR."""
    columns = ["cohort", "month", "customers", "base_arr", "arr", "ndr", "gdr"]
    arrivals = movements[movements["kind"] == "new_business"]
    if arrivals.empty:
        return pd.DataFrame(columns=columns)
    first_month = pd.Timestamp(arrivals["effective"].min()).to_period("M")
    last_month = pd.Timestamp(as_of).to_period("M")
    if pd.Timestamp(as_of) < last_month.end_time.normalize():
        last_month -= 1  # only complete months
    months = pd.period_range(first_month, last_month, freq="M")
    if len(months) == 0:
        return pd.DataFrame(columns=columns)
    ledger = _Ledger(
        movements, [m.start_time.date() for m in months[1:]] + [(last_month + 1).start_time.date()]
    )
    # arr[:, j] is ARR at the end of months[j]
    stamps = _stamps(ledger.first_day)
    known = ~stamps.isna()
    offsets = np.full(len(stamps), len(months), dtype="int64")
    offsets[known] = (stamps[known].year - first_month.year) * 12 + stamps[known].month - first_month.month
    arange_all = np.arange(len(offsets))
    in_range = offsets < len(months)
    base_all = np.zeros(len(offsets), dtype="int64")
    base_all[in_range] = ledger.arr[arange_all[in_range], offsets[in_range]]
    valid = in_range & (base_all > 0)  # a cohort member had ARR at the end of its first month
    start_col, base, arr = offsets[valid], base_all[valid], ledger.arr[valid]
    arange = np.arange(len(start_col))
    frames = []
    for n in range(len(months)):
        col = start_col + n
        alive = col < len(months)
        if not alive.any():
            break
        rows = arange[alive]
        value = arr[rows, col[alive]]
        part = pd.DataFrame(
            {
                "cohort": start_col[alive],
                "base_arr": base[alive],
                "arr": value,
                "gross": np.minimum(value, base[alive]),
                "customers": np.ones(int(alive.sum()), dtype="int64"),
            }
        )
        summed = part.groupby("cohort").sum().reset_index()
        summed["month"] = n
        frames.append(summed)
    table = pd.concat(frames, ignore_index=True)
    table["ndr"] = _ratio(table["arr"].to_numpy(), table["base_arr"].to_numpy())
    table["gdr"] = _ratio(table["gross"].to_numpy(), table["base_arr"].to_numpy())
    table["cohort"] = [str(months[i]) for i in table["cohort"]]
    return table.sort_values(["cohort", "month"], ignore_index=True)[columns]
