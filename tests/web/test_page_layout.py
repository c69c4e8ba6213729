"""Nothing on the ticket page or the account 360 spills out of its box, at a desktop width and at a
phone's: a long requester email and the health table stay inside their cards."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel
from opsdesk.success.health import actions as health_actions
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in
from tests.web.test_success_pages import _book

pytestmark = pytest.mark.browser
WIDTHS = [1440, 390]
LONG_EMAIL = "rita.requester.benefits.administration.team@acme-health-employee-benefits.example.com"

# Every element inside the selected boxes whose content is wider than the element itself.
OVERFLOWING = """(selector) => {
  const out = [];
  for (const box of document.querySelectorAll(selector)) {
    for (const el of [box, ...box.querySelectorAll('*')]) {
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'auto') {
        out.push(el.tagName + '.' + el.className + ' ' + el.scrollWidth + '>' + el.clientWidth);
      }
    }
    const outer = box.getBoundingClientRect();
    if (outer.right > document.documentElement.clientWidth + 1) out.push('box past the window');
  }
  return out;
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_a_long_requester_email_stays_inside_the_ticket_details(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock, width: int
) -> None:
    org = core_actions.create_organisation(
        db, name="Acme Health Employee Benefits Administration", clock=clock
    )
    core_actions.create_user(
        db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L1, password=PASSWORD, clock=clock
    )
    rita = core_actions.create_user(
        db, email=LONG_EMAIL, name="Rita Requester", role=Role.REQUESTER, organisation=org, clock=clock
    )
    ticket = desk_actions.create_ticket(
        db, requester=rita, subject="Invoice", body_text="Billed 120.", channel=Channel.EMAIL, clock=clock
    )
    db.commit()
    page = browser.new_page(viewport={"width": width, "height": 900})
    sign_in(page, live_server, "ana@desk.test")
    page.goto(f"{live_server.url}/tickets/{ticket.id}")
    assert LONG_EMAIL in page.inner_text("aside")
    assert page.evaluate(OVERFLOWING, "main aside .card") == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_health_table_fits_the_account_360(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock, width: int
) -> None:
    data = _book(db, clock)
    health_actions.score_accounts(db, as_of=clock.now().date(), clock=clock)
    db.commit()
    page = browser.new_page(viewport={"width": width, "height": 900})
    sign_in(page, live_server, "cleo@cs.test")
    page.goto(f"{live_server.url}/customers/{data['acme'].id}")
    assert "Member utilisation" in page.get_by_test_id("health").inner_text()
    assert page.evaluate(OVERFLOWING, "[data-testid=health]") == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.close()


def test_the_admins_header_wraps_instead_of_widening_the_page(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """An admin has every link of the header: at a laptop's 1280 px they wrap onto a second line."""
    core_actions.create_user(
        db, email="ada@desk.test", name="Ada Admin", role=Role.ADMIN, password=PASSWORD, clock=clock
    )
    db.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, live_server, "ada@desk.test")
    for path in ("/", "/tickets?view=all"):
        page.goto(live_server.url + path)
        assert page.get_by_role("link", name="Reports").is_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), path
    page.close()
