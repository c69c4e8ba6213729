"""Issue 14: a period ending in the future must be refused or reported as a forecast. The success
dashboard used to cut such a period at today and show the numbers as the period's; it now refuses it,
as the retention page and API do, with the field named, on the page, the panel export and the function."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Role
from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.success import success_dashboard
from opsdesk.success import actions, contracts
from opsdesk.success.models import PriceModel
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.signin_http import sign_in_http


def test_a_success_dashboard_period_ending_after_today_is_refused(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    today = clock.now().date()
    make_user(db, clock, Role.CS_LEAD, email="lee@example.com")
    acme = actions.create_account(db, name="Acme", covered_lives=50, clock=clock)
    contracts.save_subscription(
        db, account=acme, start=date(2025, 6, 1), end=today + timedelta(days=20),
        price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=1_000_000, clock=clock,
    )  # fmt: skip
    db.commit()
    future = today + timedelta(days=60)  # the contract ends, unrenewed yet, inside this period

    with pytest.raises(ValidationFailed) as refused:
        success_dashboard(db, DashboardFilter(date(2025, 6, 1), future), today=today)
    assert refused.value.field == "to" and "after today" in refused.value.message
    panels = success_dashboard(db, DashboardFilter(date(2025, 6, 1), today), today=today)
    bridge = {row[0]: row[1] for row in next(p for p in panels if p.key == "bridge").rows}
    assert bridge["Churn"] == 0 and bridge["End"] == 1_000_000

    with live_server.client() as browser:
        sign_in_http(browser, "lee@example.com")
        assert browser.get("/dashboards/success").status_code == 200
        page = browser.get(f"/dashboards/success?from=2025-06-01&to={future}")
        assert 400 <= page.status_code < 500 and "after today" in page.text, page.text
        export = browser.get(f"/dashboards/success/bridge.csv?from=2025-06-01&to={future}")
        assert 400 <= export.status_code < 500, export.text
        assert browser.get(f"/dashboards/success?from=2025-06-01&to={today}").status_code == 200
