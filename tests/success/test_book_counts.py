"""Issue 14: "one CSM's book shows 53, 62 and 66 customers in three places". The customers page, the
portfolio (``opsdesk portfolio``, the API and the dashboard) and the productivity KPIs now count one
book: the accounts the CSM owns that are active customers on the day."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.success import success_dashboard
from opsdesk.success import actions as success
from opsdesk.success import contracts, portfolio
from opsdesk.success.models import Account, PriceModel, Stage
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.signin_http import sign_in_http


def test_the_customers_page_portfolio_dashboard_and_productivity_count_one_book(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    ann = make_user(db, clock, Role.CSM, email="ann@example.com")
    make_user(db, clock, Role.CS_LEAD, email="lee@example.com")
    today = clock.now().date()

    def account(
        name: str, *, end: date | None, stage: Stage = Stage.ADOPTION, parent: Account | None = None
    ) -> Account:
        row = success.create_account(
            db,
            name=name,
            covered_lives=50,
            owner=ann,
            stage=stage,
            parent=parent,
            clock=clock,
        )
        if end is not None:
            contracts.save_subscription(
                db, account=row, start=date(2025, 1, 1), end=end, price_model=PriceModel.FLAT_ANNUAL,
                flat_annual_cents=1_000_000, clock=clock,
            )  # fmt: skip
        return row

    live = account("Live", end=date(2026, 12, 31))
    account("Live's subsidiary", end=date(2026, 12, 31), parent=live)  # its own contract: in the book
    account("Lapsed", end=date(2025, 12, 31))  # its contract ended: not a customer today
    account("Lapsed too", end=date(2025, 6, 30))
    account("Gone", end=date(2025, 12, 31), stage=Stage.CHURNED)
    account("Signed", end=None, stage=Stage.IMPLEMENTATION)  # signed, being implemented: a customer
    token = make_token(db, clock, ann)
    db.commit()

    with live_server.client() as browser:
        sign_in_http(browser, "lee@example.com")
        html = browser.get("/customers").text
    on_page = re.search(r'csm=ann%40example\.com">[^<]*</a></td><td>(\d+)</td>', html)
    assert on_page is not None, html
    in_portfolio = portfolio.portfolio(db, today).set_index("csm").loc["ann@example.com", "accounts"]
    with live_server.client(token) as api:
        in_api = {b["csm"]: b["accounts"] for b in api.get("/api/v1/portfolio").json()}["ann@example.com"]
    kpis = portfolio.productivity(db, date(2025, 3, 3), today).set_index("csm")
    panel = next(
        p
        for p in success_dashboard(db, DashboardFilter(date(2025, 3, 3), today), today=today)
        if p.key == "csm_books"
    )
    on_dashboard = next(row[1] for row in panel.rows if row[0] == "ann@example.com")
    counts = [
        int(on_page.group(1)),
        int(in_portfolio),
        in_api,
        int(kpis.loc["ann@example.com", "accounts"]),
        on_dashboard,
    ]
    assert counts == [3, 3, 3, 3, 3]
    churned = portfolio.portfolio(db, today).set_index("csm").loc["ann@example.com", "churned"]
    assert churned == 1
