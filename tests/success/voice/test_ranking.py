"""Ranking product requests and areas by the ARR and covered lives asking (pure)."""

from __future__ import annotations

import pandas as pd

from opsdesk.success.voice.ranking import ASK_COLUMNS, rank_areas, rank_requests


def asks(*rows: tuple[int, str, str, int, int, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, t, area, "new", account, arr, lives) for r, t, area, account, arr, lives in rows],
        columns=ASK_COLUMNS,
    )


BOOK = asks(
    (1, "SSO", "Platform", 10, 5_000_000, 2_000),
    (1, "SSO", "Platform", 11, 1_000_000, 500),
    (2, "Audit log", "Platform", 10, 5_000_000, 2_000),
    (3, "Spanish content", "Content", 12, 9_000_000, 100),
    (4, "Dark mode", "Apps", 13, 0, 30_000),
    (5, "Widgets", "Apps", 14, 0, 30_000),
    (5, "Widgets", "Apps", 15, 0, 0),
)


def test_requests_rank_by_arr_then_lives_then_accounts() -> None:
    ranked = rank_requests(BOOK)
    assert ranked["title"].tolist() == ["Spanish content", "SSO", "Audit log", "Widgets", "Dark mode"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    sso = ranked.set_index("title").loc["SSO"]
    assert (sso["accounts"], sso["arr_cents"], sso["covered_lives"]) == (2, 6_000_000, 2_500)


def test_an_account_counts_once_per_area() -> None:
    ranked = rank_areas(BOOK).set_index("product_area")
    platform = ranked.loc["Platform"]
    # Account 10 asks for two Platform requests but its ARR counts once.
    assert (platform["requests"], platform["accounts"], platform["arr_cents"]) == (2, 2, 6_000_000)
    assert rank_areas(BOOK)["product_area"].tolist() == ["Content", "Platform", "Apps"]
    assert ranked.loc["Apps", "covered_lives"] == 60_000 and ranked.loc["Apps", "accounts"] == 3


def test_duplicate_asks_do_not_inflate_and_empty_is_empty() -> None:
    doubled = pd.concat([BOOK, BOOK], ignore_index=True)
    pd.testing.assert_frame_equal(rank_requests(doubled), rank_requests(BOOK))
    assert rank_requests(asks()).empty and rank_areas(asks()).empty
