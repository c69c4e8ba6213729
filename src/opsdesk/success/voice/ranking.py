"""Rank product requests and product areas by who is asking: the ARR and covered lives of the accounts
behind them. Pure: a frame of asks in, ranked frames out.

Each account counts once per request (asks are unique per request and account) and once per product
area, however many of the area's requests it asks for, so a chatty customer does not outweigh a quiet
larger one. Ties on ARR go to covered lives, then to the number of accounts asking."""

from __future__ import annotations

import pandas as pd

ASK_COLUMNS = ["request_id", "title", "product_area", "status", "account_id", "arr_cents", "covered_lives"]
REQUEST_COLUMNS = [
    "rank",
    "request_id",
    "title",
    "product_area",
    "status",
    "accounts",
    "arr_cents",
    "covered_lives",
]
AREA_COLUMNS = ["rank", "product_area", "requests", "accounts", "arr_cents", "covered_lives"]


def _ranked(frame: pd.DataFrame, tiebreak: str, columns: list[str]) -> pd.DataFrame:
    ordered = frame.sort_values(
        ["arr_cents", "covered_lives", "accounts", tiebreak],
        ascending=[False, False, False, True],
        ignore_index=True,
    )
    ordered.insert(0, "rank", range(1, len(ordered) + 1))
    for column in ("accounts", "arr_cents", "covered_lives"):
        ordered[column] = ordered[column].astype("int64")
    return ordered[columns]


def rank_requests(asks: pd.DataFrame) -> pd.DataFrame:
    if asks.empty:
        return pd.DataFrame(columns=REQUEST_COLUMNS)
    unique = asks.drop_duplicates(["request_id", "account_id"])
    grouped = (
        unique.groupby(["request_id", "title", "product_area", "status"], sort=False)
        .agg(
            accounts=("account_id", "nunique"),
            arr_cents=("arr_cents", "sum"),
            covered_lives=("covered_lives", "sum"),
        )
        .reset_index()
    )
    return _ranked(grouped, "request_id", REQUEST_COLUMNS)


def rank_areas(asks: pd.DataFrame) -> pd.DataFrame:
    if asks.empty:
        return pd.DataFrame(columns=AREA_COLUMNS)
    per_account = asks.drop_duplicates(["product_area", "account_id"])
    grouped = (
        per_account.groupby("product_area", sort=False)
        .agg(
            accounts=("account_id", "nunique"),
            arr_cents=("arr_cents", "sum"),
            covered_lives=("covered_lives", "sum"),
        )
        .reset_index()
    )
    requests = asks.groupby("product_area")["request_id"].nunique().rename("requests")
    grouped = grouped.join(requests, on="product_area")
    return _ranked(grouped, "product_area", AREA_COLUMNS)
