"""Utilisation trends: each account's engagement rate (engaged members / covered lives) month by month,
the direction it is moving, and the same per segment. Pure: data frames in, data frames out.

The input frame has one row per account and month (``month`` is the first day) with ``engaged_members``,
``sessions``, ``programme_uptake_pct`` and the ``covered_lives`` the rate is measured against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

FRAME_COLUMNS = [
    "account_id",
    "month",
    "engaged_members",
    "sessions",
    "programme_uptake_pct",
    "covered_lives",
]
# A slope smaller than this (percentage points of engagement per month) is noise, not a trend.
FLAT_WITHIN_PP = 0.25


def with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``engaged_rate_pct`` (NaN without covered lives) and ``sessions_per_engaged`` (NaN without
    engaged members), so a zero denominator never reads as zero engagement."""
    out = frame.copy()
    lives = out["covered_lives"].astype("float64")
    engaged = out["engaged_members"].astype("float64")
    out["engaged_rate_pct"] = np.where(lives > 0, engaged / lives.where(lives > 0) * 100.0, np.nan)
    out["sessions_per_engaged"] = np.where(
        engaged > 0, out["sessions"].astype("float64") / engaged.where(engaged > 0), np.nan
    )
    return out


def monthly_slope(months: pd.Series, values: pd.Series) -> float | None:
    """Least-squares slope of ``values`` per calendar month; None with fewer than two usable points."""
    keep = values.notna().to_numpy()
    if keep.sum() < 2:
        return None
    index = np.array([m.year * 12 + m.month for m in pd.to_datetime(months)], dtype="float64")[keep]
    y = values.to_numpy(dtype="float64")[keep]
    if np.ptp(index) == 0:
        return None
    slope, _intercept = np.polyfit(index, y, 1)
    return float(slope)


def direction(slope: float | None, flat_within: float = FLAT_WITHIN_PP) -> str | None:
    if slope is None:
        return None
    if slope > flat_within:
        return "up"
    if slope < -flat_within:
        return "down"
    return "flat"


def completed_months(frame: pd.DataFrame, as_of: date, months: int) -> pd.DataFrame:
    """Rows for the ``months`` whole months before ``as_of``'s month: the month in progress is left out
    because its figures are not in yet, and later months because they were not known on ``as_of``."""
    current = pd.Timestamp(as_of.replace(day=1))
    first = current - pd.DateOffset(months=months)
    stamps = pd.to_datetime(frame["month"])
    return frame[(stamps >= first) & (stamps < current)]


def latest_rates(frame: pd.DataFrame, *, as_of: date, months: int) -> dict[int, float]:
    """Each account's engagement rate in its latest completed month within the window (accounts
    without covered lives are left out): the one figure a health score needs, for many accounts."""
    window = with_rates(completed_months(frame, as_of, months))
    window = window[window["engaged_rate_pct"].notna()]
    if window.empty:
        return {}
    last = window.sort_values(["account_id", "month"]).groupby("account_id").tail(1)
    return {int(a): float(r) for a, r in zip(last["account_id"], last["engaged_rate_pct"], strict=True)}


def account_trends(frame: pd.DataFrame, *, as_of: date, months: int = 6) -> pd.DataFrame:
    """One row per account with data in the window: the latest month's engagement rate, sessions and
    uptake, the rate's change over the window and its least-squares slope (points per month)."""
    columns = [
        "account_id", "latest_month", "engaged_rate_pct", "sessions", "programme_uptake_pct",
        "change_pp", "slope_pp_per_month", "direction", "months",
    ]  # fmt: skip
    window = with_rates(completed_months(frame, as_of, months))
    if window.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for account_id, group in window.sort_values("month").groupby("account_id", sort=True):
        latest, earliest = group.iloc[-1], group.iloc[0]
        slope = monthly_slope(group["month"], group["engaged_rate_pct"])
        change = latest["engaged_rate_pct"] - earliest["engaged_rate_pct"] if len(group) > 1 else np.nan
        rows.append(
            {
                "account_id": int(account_id),
                "latest_month": pd.Timestamp(latest["month"]).date(),
                "engaged_rate_pct": float(latest["engaged_rate_pct"]),
                "sessions": int(latest["sessions"]),
                "programme_uptake_pct": float(latest["programme_uptake_pct"]),
                "change_pp": float(change),
                "slope_pp_per_month": slope,
                "direction": direction(slope),
                "months": len(group),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def segment_trend(frame: pd.DataFrame, segment_of: Mapping[int, str | None]) -> pd.DataFrame:
    """Per segment and month: the lives-weighted engagement rate (all engaged members over all covered
    lives, so one large employer counts for its size) and lives-weighted programme uptake."""
    columns = [
        "segment", "month", "accounts", "engaged_members", "covered_lives", "sessions",
        "engaged_rate_pct", "programme_uptake_pct",
    ]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=columns)
    data = frame.assign(
        segment=frame["account_id"].map(lambda a: segment_of.get(int(a)) or "(none)"),
        uptake_lives=frame["programme_uptake_pct"].astype("float64") * frame["covered_lives"],
    )
    grouped = (
        data.groupby(["segment", "month"], sort=True)
        .agg(
            accounts=("account_id", "nunique"),
            engaged_members=("engaged_members", "sum"),
            covered_lives=("covered_lives", "sum"),
            sessions=("sessions", "sum"),
            uptake_lives=("uptake_lives", "sum"),
        )
        .reset_index()
    )
    lives = grouped["covered_lives"].astype("float64").where(grouped["covered_lives"] > 0)
    grouped["engaged_rate_pct"] = grouped["engaged_members"] / lives * 100.0
    grouped["programme_uptake_pct"] = grouped["uptake_lives"] / lives
    return grouped[columns]


def lives_of_each_month(frame: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``covered_lives`` replaced by the lives in force in each row's month: the latest
    recorded change in or before that month; before the first change, the first recorded value; an
    account with no history keeps the lives it has (``frame``'s own column)."""
    if frame.empty or history.empty:
        return frame
    out = frame.reset_index(drop=True)
    rows = out.assign(
        _row=np.arange(len(out)),
        _stamp=pd.to_datetime(out["month"]),
        account_id=out["account_id"].astype("int64"),
    ).sort_values("_stamp")
    known = pd.DataFrame(
        {
            "account_id": history["account_id"].astype("int64"),
            "_stamp": pd.to_datetime(history["month"]),
            "_lives": history["covered_lives"].astype("float64"),
        }
    ).sort_values("_stamp")
    merged = pd.merge_asof(rows, known, on="_stamp", by="account_id", direction="backward")
    first = known.groupby("account_id")["_lives"].first()
    lives = merged["_lives"].fillna(merged["account_id"].map(first)).fillna(merged["covered_lives"])
    merged = merged.assign(covered_lives=lives.astype("int64")).sort_values("_row")
    return merged.drop(columns=["_row", "_stamp", "_lives"]).reset_index(drop=True)


def family_frame(frame: pd.DataFrame, families: Mapping[int, Sequence[int]]) -> pd.DataFrame:
    """Each family's monthly totals under its head's id: engaged members, sessions and the month's
    covered lives summed over the members that reported that month, uptake weighted by lives. A family
    of one is its own rows."""
    pairs = pd.DataFrame(
        [(head, member) for head, members in families.items() for member in members],
        columns=["head", "account_id"],
    )
    if frame.empty or pairs.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    joined = frame.assign(account_id=frame["account_id"].astype("int64")).merge(
        pairs.astype("int64"), on="account_id"
    )
    joined["uptake_lives"] = joined["programme_uptake_pct"].astype("float64") * joined["covered_lives"]
    totals = (
        joined.groupby(["head", "month"], sort=True)
        .agg(
            engaged_members=("engaged_members", "sum"),
            sessions=("sessions", "sum"),
            covered_lives=("covered_lives", "sum"),
            uptake_lives=("uptake_lives", "sum"),
            uptake_mean=("programme_uptake_pct", "mean"),
        )
        .reset_index()
    )
    lives = totals["covered_lives"].astype("float64")
    totals["programme_uptake_pct"] = np.where(
        lives > 0, totals["uptake_lives"] / lives.where(lives > 0), totals["uptake_mean"]
    )
    return totals.rename(columns={"head": "account_id"})[FRAME_COLUMNS]
