"""The audit log page in a real browser (issue 9, defect 5): a compliance officer lands on it, filters
it, pages it and downloads it; the page never shows a ticket's subject; others are kept out."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry
from tests.conftest import LiveServer
from tests.web.browsing import sign_in
from tests.web.test_api_audit import SECRET_SUBJECT, AuditWorld, arrange_audit_log

pytestmark = pytest.mark.browser


@pytest.fixture
def world(db: Session, clock: FixedClock) -> AuditWorld:
    return arrange_audit_log(db, clock)


def _row_texts(page: Any) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("[data-testid=audit-rows] tbody tr").all_inner_texts()]


def test_compliance_officer_filters_and_downloads_the_log(
    browser: Any, live_server: LiveServer, world: AuditWorld, db: Session
) -> None:
    page = browser.new_page()
    sign_in(page, live_server, "carol@audit.test")
    assert page.url.endswith("/audit")  # the home of someone who reads the log and no tickets
    assert page.locator("header nav a", has_text="Audit log").count() == 1
    page.fill("input[name=ticket]", str(world.a.id))
    page.fill("input[name=since]", "2026-03-03")
    page.click("[data-testid=audit-filters] button[type=submit]")
    page.wait_for_url("**/audit?**")
    rows = _row_texts(page)
    assert len(rows) == 2
    assert "ticket_read_denied" in rows[0] and "ana@audit.test" in rows[0]
    assert "ticket_read" in rows[1] and "bo@audit.test" in rows[1] and f"ticket #{world.a.id}" in rows[1]
    assert SECRET_SUBJECT not in page.content()

    href = page.get_attribute("[data-testid=audit-export]", "href")
    assert href is not None and f"ticket={world.a.id}" in href
    download = page.request.get(live_server.url + href)  # the browser's own session cookie
    assert download.status == 200
    records = list(csv.DictReader(io.StringIO(download.text())))
    assert [r["action"] for r in records] == ["ticket_read_denied", "ticket_read"]

    db.rollback()  # read what the server committed
    traces = db.execute(
        select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.subject_type == "audit_log")
    ).all()
    vias = {(action, detail["via"]) for action, detail in traces}
    assert vias == {("audit_log_read", "page"), ("audit_log_exported", "api")}
    page.close()


def test_bad_filters_show_the_form_again_with_the_reason(
    browser: Any, live_server: LiveServer, world: AuditWorld
) -> None:
    page = browser.new_page()
    sign_in(page, live_server, "carol@audit.test")
    for query, words in (
        ("ticket=abc", "not a ticket number"),
        ("ticket=%C2%B2", "not a ticket number"),
        ("since=" + "9" * 5000, "is not a date"),
        ("ticket=99999999999", "between 1 and"),
        ("since=0040-10-15", "1900 to 2200"),
        ("person=nobody@audit.test", "no person"),
        ("cursor=garbage", "cursor"),
    ):
        answer = page.goto(f"{live_server.url}/audit?{query}")
        assert answer is not None and answer.status == 422, query
        assert words in page.locator("[data-testid=audit-error]").inner_text(), query
        assert page.locator("[data-testid=audit-filters]").count() == 1
    page.close()


def test_pages_of_the_log_link_to_older_rows(
    browser: Any, live_server: LiveServer, world: AuditWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsdesk.web.ui import audit_page

    monkeypatch.setattr(audit_page, "PAGE_SIZE", 3)
    page = browser.new_page()
    sign_in(page, live_server, "admin@audit.test")
    page.goto(f"{live_server.url}/audit?until=2026-03-04T09:00")
    first = _row_texts(page)
    page.click("text=Older →")
    page.wait_for_url("**cursor=**")
    second = _row_texts(page)
    assert len(first) == 3 and len(second) == 3
    assert "until=2026-03-04T09%3A00" in page.url  # the filters ride along
    assert all("2026-03-04" not in row for row in first + second)
    assert not set(first) & set(second)
    page.close()


def test_people_who_may_not_read_the_log_see_no_link_and_no_page(
    browser: Any, live_server: LiveServer, world: AuditWorld
) -> None:
    for email in ("lee@audit.test", "bo@audit.test", "ari@audit.test"):
        page = browser.new_page()
        sign_in(page, live_server, email)
        assert page.locator("header nav a", has_text="Audit log").count() == 0
        answer = page.goto(live_server.url + "/audit")
        assert answer is not None and answer.status == 403, email
        assert "ticket_read" not in page.content()
        page.close()
