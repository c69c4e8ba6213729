"""Classify ARR changes into movements at the customer (ultimate parent) level.

On each day a customer's ARR changes:
- from nothing to something: new business the first time, reactivation after an earlier churn;
- from something to nothing: churn of everything it had;
- otherwise the escalator uplift of running terms is its own movement, and the rest is expansion or
  contraction. A term reaching its natural end with a new term starting that day is also recorded as a
  renewal (amount 0: the renewed value is carried over), so a flat renewal leaves a trace.
Steps of child accounts are summed into their ultimate parent first, so revenue moving between children
nets out instead of showing as churn plus new business.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

MOVEMENT_COLUMNS = [
    "customer_id",
    "effective",
    "kind",
    "amount_cents",
    "arr_after_cents",
    "renewal_base_cents",
]
# Which row of a day carries the ARR that came up for renewal that day.
_BASE_RANK = {"renewal": 0, "churn": 1, "contraction": 2, "expansion": 3, "escalator": 4}


def classify(steps: pd.DataFrame, customer_of: Mapping[int, int] | None = None) -> pd.DataFrame:
    """Movements from ARR steps (see ``arr.arr_steps``); ``customer_of`` maps account to ultimate parent."""
    if steps.empty:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    frame = steps.copy()
    frame["customer_id"] = (
        frame["account_id"].map(customer_of).fillna(frame["account_id"])
        if customer_of
        else frame["account_id"]
    ).astype("int64")
    delta = frame["delta_cents"]
    cause = frame["cause"]
    frame["started"] = np.where(cause == "start", delta, 0)
    frame["expiring"] = np.where(cause == "end", -delta, 0)
    frame["escalated"] = np.where(cause == "escalator", delta, 0)
    days = (
        frame.groupby(["customer_id", "effective"], sort=True)[
            ["delta_cents", "started", "expiring", "escalated"]
        ]
        .sum()
        .reset_index()
    )
    days["after"] = days.groupby("customer_id")["delta_cents"].cumsum()
    days["before"] = days["after"] - days["delta_cents"]
    was_customer = (days["after"] > 0).astype("int64")
    days["had_arr"] = was_customer.groupby(days["customer_id"]).cumsum() - was_customer > 0

    rows: list[pd.DataFrame] = []

    def emit(mask: pd.Series, kind: str | pd.Series, amount: pd.Series) -> None:
        part = days.loc[mask, ["customer_id", "effective", "after", "expiring"]].copy()
        part["kind"] = kind if isinstance(kind, str) else kind[mask]
        part["amount_cents"] = amount[mask]
        rows.append(part)

    before, after = days["before"], days["after"]
    arriving = (before == 0) & (after > 0)
    emit(
        arriving,
        pd.Series(np.where(days["had_arr"], "reactivation", "new_business"), index=days.index),
        after,
    )
    emit((before > 0) & (after == 0), "churn", -before)
    staying = (before > 0) & (after > 0)
    rest = days["delta_cents"] - days["escalated"]
    emit(staying & (days["escalated"] != 0), "escalator", days["escalated"])
    emit(staying & (rest > 0), "expansion", rest)
    emit(staying & (rest < 0), "contraction", rest)
    renewed = staying & (days["expiring"] > 0) & (days["started"] > 0)
    emit(renewed, "renewal", pd.Series(0, index=days.index))

    out = pd.concat(rows, ignore_index=True)
    out["rank"] = out["kind"].map(_BASE_RANK).fillna(9)
    out = out.sort_values(["customer_id", "effective", "rank"], ignore_index=True)
    first_of_day = ~out.duplicated(["customer_id", "effective"])
    out["renewal_base_cents"] = np.where(first_of_day, out["expiring"], 0)
    out = out.rename(columns={"after": "arr_after_cents"})
    for column in ("amount_cents", "arr_after_cents", "renewal_base_cents"):
        out[column] = out[column].astype("int64")
    return out[MOVEMENT_COLUMNS]
