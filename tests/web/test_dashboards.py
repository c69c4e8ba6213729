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


def test_productivity_shows_agents_teams_qa_and_occupancy_from_presence(browser: Any, demo: Demo) -> None:
    page = browser.new_page(accept_downloads=True)
    sign_in(page, demo.server, "lead@dash.test")
    page.goto(demo.server.url + "/dashboards/productivity")
    agents = download_csv(page, "agents")
    assert agents and sum(int(r["tickets_solved"]) for r in agents) > 0
    assert any(r["qa_score"] for r in agents), "the demo's QA reviews score some agents"
    # The demo's agents worked their sites' shifts (presence events): occupancy is handle time over time
    # online for those with time online, and never made up for those without (the leads).
    online = [r for r in agents if r["online_h"] and float(r["online_h"]) > 0]
    assert len(online) > len(agents) / 2
    assert all(r["occupancy"] != "" and 0 <= float(r["occupancy"]) <= 1 for r in online)
    assert any(float(r["occupancy"]) > 0 for r in online)
    assert all(r["occupancy"] == "" for r in agents if not r["online_h"] or float(r["online_h"]) == 0)
    assert page.get_by_test_id("note-agents").count() == 0
    teams = chart_equals_csv(page, "teams", "team")
    chart_equals_csv(page, "team_quality", "team")
    first_team = teams[0]["team"]
    page.check(f"[data-testid=filter-team] input[value='{first_team}']")
    page.check("[data-testid=filter-channel] input[value=email]")
    page.check("[data-testid=filter-channel] input[value=phone]")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboards/productivity?**team=**")
    query = parse_qs(urlparse(page.url).query)
    assert sorted(query["channel"]) == ["email", "phone"] and query["team"] == [first_team]
    narrowed = download_csv(page, "agents")
    assert sum(int(r["tickets_solved"]) for r in narrowed) < sum(int(r["tickets_solved"]) for r in agents)
    page.close()


def test_sla_per_site_team_and_agent(browser: Any, demo: Demo) -> None:
    page = browser.new_page(accept_downloads=True)
    sign_in(page, demo.server, "lead@dash.test")
    page.goto(demo.server.url + "/dashboards/sla")
    sites = chart_equals_csv(page, "sla_site", "site")
    assert all(0 <= float(r["all"]) <= 1 for r in sites if r["all"])
    assert sum(int(r["targets"]) for r in sites) > 0
    chart_equals_csv(page, "sla_group", "group")
    page.check("[data-testid=filter-tier] input[value=L1]")
    page.check("[data-testid=filter-tier] input[value=L2]")
    page.check("[data-testid=filter-channel] input[value=chat]")
    page.check("[data-testid=filter-channel] input[value=social]")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboards/sla?**tier=L2**")
    narrowed = download_csv(page, "sla_site")
    assert sum(int(r["targets"]) for r in narrowed) < sum(int(r["targets"]) for r in sites)
    page.close()


def test_customer_success_dashboard(browser: Any, demo: Demo) -> None:
    page = browser.new_page(accept_downloads=True)
    sign_in(page, demo.server, "cslead@dash.test")
    page.goto(demo.server.url + "/dashboards/success?from=2025-03-03&to=2026-03-02")
    for key in ("bridge", "retention_trend", "health_mix", "renewals", "pipeline"):
        assert page.locator(f"[data-testid=panel-{key}] svg").count() == 1, key
    bridge = download_csv(page, "bridge")
    steps = {r["step"]: int(r["arr_cents"]) for r in bridge}
    assert steps["Start"] + sum(v for k, v in steps.items() if k not in ("Start", "End")) == steps["End"]
    mix = chart_equals_csv(page, "health_mix", "segment")
    chart_equals_csv(page, "retention_trend", "month")
    segments = [r["segment"] for r in mix]
    assert len(segments) >= 2
    for name in segments[:2]:
        page.check(f"[data-testid=filter-segment] input[value='{name}']")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboards/success?**segment=**")
    assert sorted(parse_qs(urlparse(page.url).query)["segment"]) == sorted(segments[:2])
    narrowed = chart_equals_csv(page, "health_mix", "segment")
    assert {r["segment"] for r in narrowed} == set(segments[:2])
    books = download_csv(page, "csm_books")
    assert books and {"accounts", "arr_cents", "covered_lives", "renewals_won", "nrr"} <= set(books[0])
    page.close()


def test_workforce_dashboard_in_the_viewers_zone(browser: Any, demo: Demo) -> None:
    page = browser.new_page(accept_downloads=True)
    sign_in(page, demo.server, "lead@dash.test")
    page.goto(demo.server.url + "/dashboards/workforce?from=2026-01-01&to=2026-03-02")
    for key in ("forecast_actual", "required_site", "required_day"):
        assert page.locator(f"[data-testid=panel-{key}] svg").count() == 1, key
    sites = chart_equals_csv(page, "required_site", "site")
    chart_equals_csv(page, "forecast_actual", "day")
    assert len(sites) >= 2
    chosen = [r["site"] for r in sites[:2]]
    for name in chosen:
        page.check(f"[data-testid=filter-site] input[value='{name}']")
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    page.wait_for_url("**/dashboards/workforce?**site=**")
    narrowed = chart_equals_csv(page, "required_site", "site")
    assert [r["site"] for r in narrowed] == chosen
    days = download_csv(page, "required_day")
    assert sum(float(r["required_h"]) for r in days) == pytest.approx(
        sum(float(r["required_h"]) for r in narrowed)
    )
    page.close()


def test_each_role_sees_only_its_dashboards(demo: Demo) -> None:
    import httpx

    from tests.web.signin_http import sign_in_http

    expected = {
        "lead@dash.test": {"support", "productivity", "sla", "success", "workforce"},
        "cslead@dash.test": {"support", "productivity", "sla", "success"},
        "csm@dash.test": {"success"},
        "qa@dash.test": {"support", "productivity", "sla"},
        "agent@dash.test": set(),
    }
    for email, boards in expected.items():
        with httpx.Client(base_url=demo.server.url, timeout=60) as client:
            sign_in_http(client, email)
            for name in ("support", "productivity", "sla", "success", "workforce"):
                status = client.get(f"/dashboards/{name}").status_code
                assert (status == 200) == (name in boards), (email, name, status)
                assert status in (200, 403), (email, name, status)
            csv_status = client.get("/dashboards/support/volume.csv").status_code
            assert (csv_status == 200) == ("support" in boards)


def test_bad_filters_are_4xx_with_a_message(demo: Demo) -> None:
    import httpx

    from tests.web.signin_http import sign_in_http

    with httpx.Client(base_url=demo.server.url, timeout=120) as client:
        sign_in_http(client, "lead@dash.test")
        unknown = client.get("/dashboards/support?channel=email&channel=pigeon")
        assert unknown.status_code == 422 and "unknown channel" in unknown.text
        backwards = client.get("/dashboards/sla?from=2026-02-10&to=2026-02-01")
        assert backwards.status_code == 422 and "ends before it starts" in backwards.text
        for path in (
            "/dashboards/support?from=2026-13-45",
            "/dashboards/support?tag=" + "x" * 300,
            "/dashboards/support?site=a%00b",
            "/dashboards/support/volume.csv?channel=pigeon",
            "/dashboards/support/volume.txt",
        ):
            assert 400 <= client.get(path).status_code < 500, path
        assert client.get("/dashboards/nothing").status_code == 404
        assert client.get("/dashboards/support/nothing.csv").status_code == 404
        sheet = client.get("/dashboards/support/volume.xlsx?channel=email&channel=chat")
        assert sheet.status_code == 200
        from openpyxl import load_workbook

        rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
        text = client.get("/dashboards/support/volume.csv?channel=email&channel=chat").text
        assert [[str(v) for v in row] for row in rows] == list(csv.reader(io.StringIO(text)))
