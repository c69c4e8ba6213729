"""Customer-success pages in a real browser: the portfolio, an account's 360 view and retention show
the numbers the success queries compute, with SVG charts, and stay closed to staff without success.read."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier, User
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import AuthorKind, Channel, Status
from opsdesk.desk.surveys.actions import record_rating
from opsdesk.desk.surveys.scale import Scale, Via
from opsdesk.success import actions, contracts
from opsdesk.success.health import actions as health_actions
from opsdesk.success.models import PriceModel, Stage
from opsdesk.success.voice import actions as voice
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def _book(db: Session, clock: FixedClock) -> dict[str, Any]:
    """Two customers since January 2025: Acme renews at a higher price, Beta leaves at year end.
    Over the twelve months to 2 March 2026: start ARR $78,000, end $90,000 (Acme), so NRR 115.4%,
    GRR 92.3% (Beta's $6,000 lost) and logo churn 50.0%."""
    user = {"password": PASSWORD, "clock": clock}
    csm = core_actions.create_user(db, email="cleo@cs.test", name="Cleo Csm", role=Role.CSM, **user)
    core_actions.create_user(db, email="lee@cs.test", name="Lee Lead", role=Role.CS_LEAD, **user)
    core_actions.create_user(
        db, email="ana@desk.test", name="Ana Agent", role=Role.AGENT, tier=Tier.L1, **user
    )
    org = core_actions.create_organisation(db, name="Acme Health", clock=clock)
    requester = core_actions.create_user(
        db, email="rita@acme.test", name="Rita", role=Role.REQUESTER, organisation=org, **user
    )
    ticket = desk_actions.create_ticket(
        db,
        requester=requester,
        subject="Eligibility file rejected",
        body_text="Our eligibility file was rejected this morning.",
        channel=Channel.EMAIL,
        clock=clock,
    )
    acme = actions.create_account(
        db,
        name="Acme Health",
        covered_lives=1500,
        owner=csm,
        organisation=org,
        industry="Healthcare",
        region="North America",
        stage_since=date(2024, 12, 1),
        clock=clock,
    )
    beta = actions.create_account(
        db, name="Beta Bakery", covered_lives=50, owner=csm, stage_since=date(2024, 12, 1), clock=clock
    )
    pepm = {"price_model": PriceModel.PEPM, "covered_lives": 1500, "clock": clock}
    contracts.save_subscription(
        db, account=acme, start=date(2025, 1, 1), end=date(2025, 12, 31), pepm_cents=400, **pepm
    )
    contracts.save_subscription(
        db, account=acme, start=date(2026, 1, 1), end=date(2026, 12, 31), pepm_cents=500, **pepm
    )
    contracts.save_subscription(
        db,
        account=beta,
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=600_000,
        clock=clock,
    )
    actions.change_stage(db, account=acme, to=Stage.LAUNCH, on=date(2025, 2, 15), clock=clock)
    actions.change_stage(db, account=acme, to=Stage.ADOPTION, on=date(2025, 5, 1), clock=clock)
    actions.change_stage(db, account=beta, to=Stage.CHURNED, on=date(2026, 1, 1), clock=clock)
    for month, engaged in ((9, 300), (10, 330), (11, 360), (12, 390)):
        actions.record_utilisation(
            db,
            account=acme,
            month=date(2025, month, 1),
            engaged_members=engaged,
            sessions=engaged * 2,
            programme_uptake_pct=Decimal("20"),
        )
    db.commit()
    return {"acme": acme, "beta": beta, "ticket": ticket}


def _rate_and_survey(db: Session, clock: FixedClock, data: dict[str, Any]) -> None:
    """The ticket answered, solved and rated 5 of 5; three contacts answered NPS 10, 9 and 4."""
    ticket = db.merge(data["ticket"])
    agent = db.scalars(select(User).where(User.email == "ana@desk.test")).one()
    desk_actions.add_message(
        db, ticket=ticket, author=agent, author_kind=AuthorKind.AGENT, public=True, channel=Channel.WEB,
        clock=clock, body_text="Fixed the file",
    )  # fmt: skip
    desk_actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
    record_rating(db, ticket=ticket, choice=5, scale=Scale.ONE_TO_FIVE, via=Via.EMAIL, clock=clock)
    acme = db.merge(data["acme"])
    for score in (10, 9, 4):
        voice.record_nps_response(
            db, account=acme, score=score, responded_at=clock.now(), clock=clock,
            comment="Too slow to onboard" if score == 4 else "",
        )  # fmt: skip
    db.commit()


def test_portfolio_lists_customers_with_arr_books_and_filters(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _book(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "lee@cs.test")
    page.click("header >> text=Customers")
    accounts = page.get_by_test_id("accounts").inner_text()
    assert "Acme Health" in accounts and "$90,000" in accounts and "Upper mid-market" in accounts
    assert "Beta Bakery" in accounts and "churned" in accounts
    books = page.get_by_test_id("books").inner_text()
    assert "Cleo Csm" in books and "$90,000" in books
    page.select_option("select[name=stage]", "churned")
    page.click("main button[type=submit]")
    accounts = page.get_by_test_id("accounts").inner_text()
    assert "Beta Bakery" in accounts and "Acme Health" not in accounts
    page.goto(f"{live_server.url}/customers?segment=Upper+mid-market")
    assert "Beta Bakery" not in page.get_by_test_id("accounts").inner_text()
    page.click(f"a[href='/customers/{data['acme'].id}']")
    assert page.get_by_test_id("account-name").inner_text() == "Acme Health"
    page.close()


def test_account_360_shows_header_timeline_health_and_engagement(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    data = _book(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "cleo@cs.test")
    page.goto(f"{live_server.url}/customers/{data['acme'].id}")
    header = page.get_by_test_id("account-header").inner_text()
    assert (
        "Upper mid-market" in header and "adoption" in header and "Cleo Csm" in header and "1,500" in header
    )
    assert page.get_by_test_id("arr").inner_text() == "$90,000"
    assert page.get_by_test_id("renewal").inner_text() == "2027-01-01"
    timeline = page.get_by_test_id("timeline").inner_text()
    assert f"Ticket opened #{data['ticket'].id}" in timeline and "Eligibility file rejected" in timeline
    assert "launch → adoption on 2025-05-01" in timeline
    assert "ARR expansion" in timeline and "$18,000" in timeline  # $72,000 -> $90,000 at renewal
    assert "ARR new business" in timeline and "$72,000 came up for renewal" in timeline
    assert "not scored" in page.get_by_test_id("health").inner_text()
    assert "no ratings" in page.get_by_test_id("csat").inner_text()
    assert "no answers" in page.get_by_test_id("nps").inner_text()
    _rate_and_survey(db, clock, data)
    page.reload()
    assert "100%" in page.get_by_test_id("csat").inner_text()
    assert "1 good of 1 rated" in page.get_by_test_id("csat").inner_text()
    nps = page.get_by_test_id("nps").inner_text()
    assert "+33" in nps and "2 promoters, 0 passives, 1 detractors" in nps
    assert "CSAT good (5/5)" in page.get_by_test_id("timeline").inner_text()
    assert "Too slow to onboard" in page.get_by_test_id("nps-answers").inner_text()
    health_actions.score_accounts(db, as_of=clock.now().date(), clock=clock)
    db.commit()
    page.reload()
    health = page.get_by_test_id("health").inner_text()
    assert "Member utilisation" in health and "% engaged" in health and "Renewal proximity" in health
    assert "CSAT" in health and "100 % good" in health and "NPS" in health
    assert "not scored" not in health
    assert page.locator("svg.chart polyline").count() >= 1
    page.click(f"text=Ticket opened #{data['ticket'].id}")
    assert "Our eligibility file was rejected" in page.content()
    page.close()


def test_retention_page_shows_bridge_rates_by_segment_and_cohorts(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    _book(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "lee@cs.test")
    page.goto(f"{live_server.url}/customers/retention")
    assert page.get_by_test_id("nrr").inner_text() == "115.4%"
    assert page.get_by_test_id("grr").inner_text() == "92.3%"
    assert page.get_by_test_id("logo-churn").inner_text() == "50.0%"
    assert page.get_by_test_id("end-arr").inner_text() == "$90,000"
    segments = page.get_by_test_id("by-segment").inner_text()
    assert "Small business" in segments and "$6,000" in segments
    assert page.locator("svg.chart").count() >= 2  # the bridge and the trend
    assert page.locator("svg.chart rect[fill='#c62828']").count() >= 1  # churn falls in red
    cohorts = page.get_by_test_id("cohorts").inner_text()
    assert "2025-01" in cohorts and "100.0%" in cohorts
    page.close()


@pytest.mark.parametrize("email", ["ana@desk.test", "rita@acme.test"])
def test_people_without_success_read_are_refused(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock, email: str
) -> None:
    data = _book(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, email)
    assert page.locator("header >> text=Customers").count() == 0
    for path in ("/customers", f"/customers/{data['acme'].id}", "/customers/retention"):
        response = page.goto(live_server.url + path)
        assert response.status in (403, 404)
        assert "Acme Health" not in page.locator("main").inner_text()
    page.close()


def test_retention_page_takes_its_period_and_grouping_and_its_table_adds_up(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """Issue 14: the segment table had no new, reactivation or escalator columns and ignored from,
    to and by. A period ending after today is refused, as by the CLI."""
    _book(db, clock)
    today = clock.now().date()
    start = today.replace(year=today.year - 2)
    page = browser.new_page()
    sign_in(page, live_server, "lee@cs.test")
    page.goto(f"{live_server.url}/customers/retention?from={start}&to={today}&by=region")
    assert page.locator("h2", has_text="By region").count() == 1
    assert page.locator("input[name=from]").input_value() == start.isoformat()

    def amounts(row: Any) -> list[float]:
        cells = row.locator("td, th").all_inner_texts()[4:12]  # start ARR .. end ARR
        return [float(c.replace("$", "").replace(",", "").replace("−", "-") or 0) for c in cells]

    rows = page.get_by_test_id("by-segment").locator("tbody tr").all()
    total = amounts(page.get_by_test_id("all-customers"))
    for values in [amounts(r) for r in rows] + [total]:
        start_arr, new, reactivation, expansion, escalator, contraction, churn, end_arr = values
        assert start_arr + new + reactivation + expansion + escalator - contraction - churn == end_arr
    assert [sum(col) for col in zip(*(amounts(r) for r in rows), strict=True)] == total
    answer = page.goto(f"{live_server.url}/customers/retention?to={today + timedelta(days=30)}")
    assert answer is not None and answer.status == 422
    assert "after today" in page.content()
    # The refused period comes back in the retention form, with the reason beside "To" (a walk of the
    # demo found a bare error page whose only way on was "Back to the overview").
    assert page.get_by_test_id("period").locator("input[name=to]").input_value() == (
        (today + timedelta(days=30)).isoformat()
    )
    assert "after today" in page.get_by_test_id("error-to").inner_text()
    page.get_by_test_id("period").locator("input[name=to]").fill(today.isoformat())
    page.get_by_test_id("period").locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("error-to").count() == 0
    assert page.get_by_test_id("all-customers").count() == 1
    page.close()
