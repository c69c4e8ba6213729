"""The ticket list in a real browser: select tickets, apply a bulk action, and the page shows the
change; sort by a column; save the filtered list as a view whose count in the views bar equals its list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Priority, Status, Ticket
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_select_tickets_apply_a_bulk_action_and_save_a_view(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = {"password": PASSWORD, "clock": clock}
    lee = core_actions.create_user(db, email="lee@desk.test", name="Lee", role=Role.SUPPORT_LEAD, **people)
    ana = core_actions.create_user(
        db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L1, **people
    )
    rita = core_actions.create_user(db, email="rita@acme.test", name="Rita", role=Role.REQUESTER, clock=clock)
    numbers = [
        desk_actions.create_ticket(
            db,
            requester=rita,
            subject=subject,
            body_text="Hi",
            channel=Channel.EMAIL,
            clock=clock,
            priority=priority,
        ).id
        for subject, priority in (
            ("Refund", Priority.LOW),
            ("Login", Priority.URGENT),
            ("Export", Priority.NORMAL),
        )
    ]
    db.commit()
    first, second, third = numbers

    page = browser.new_page()
    sign_in(page, live_server, "lee@desk.test")
    page.goto(f"{live_server.url}/tickets?view=unassigned")
    assert page.get_by_test_id("count-unassigned").inner_text() == "3"
    page.check(f"[data-testid=select-{first}]")
    page.check(f"[data-testid=select-{second}]")
    page.select_option("form#bulk select[name=status]", "pending")
    page.select_option("form#bulk select[name=assignee]", str(ana.id))
    page.fill("form#bulk input[name=add_tags]", "refund-batch")
    page.click("form#bulk button[type=submit]")
    page.wait_for_url(lambda url: "done=" in url)

    assert "2 tickets updated" in page.get_by_test_id("bulk-result").inner_text()
    assert page.get_by_test_id("count-unassigned").inner_text() == "1"  # the two now have an assignee
    assert page.locator(f"[data-testid=status-{first}]").count() == 0  # not unassigned any more
    page.goto(f"{live_server.url}/tickets?view=all")
    for number in (first, second):
        assert page.get_by_test_id(f"status-{number}").inner_text() == "pending"
        assert page.get_by_test_id(f"assignee-{number}").inner_text() == "Ana"
    assert page.get_by_test_id(f"status-{third}").inner_text() == "new"

    page.click("[data-testid=sort-priority]")
    page.wait_for_url(lambda url: url.endswith("sort=priority"))
    rows = page.locator("[data-testid=ticket-list] tbody input[name=ticket_ids]")
    assert [rows.nth(i).get_attribute("value") for i in range(3)] == [
        str(first),
        str(third),
        str(second),
    ]
    page.click("[data-testid=sort-priority]")  # again: the other way
    page.wait_for_url(lambda url: url.endswith("sort=-priority"))
    assert rows.first.get_attribute("value") == str(second)

    page.goto(f"{live_server.url}/tickets?view=all&status=pending")
    page.fill("form[data-testid=save-view] input[name=name]", "Waiting on customer")
    page.check("form[data-testid=save-view] input[name=shared]")
    page.click("form[data-testid=save-view] button[type=submit]")
    page.wait_for_url(lambda url: "saved=" in url)
    saved_key = "saved-" + page.url.rsplit("saved=", 1)[1]
    assert page.get_by_test_id(f"count-{saved_key}").inner_text() == "2"
    assert page.locator("[data-testid=ticket-list] tbody tr").count() == 2
    # Saved again from the saved view's own list, under another name, it keeps the view's filters.
    first_saved = page.url
    page.fill("form[data-testid=save-view] input[name=name]", "Copy of waiting")
    page.click("form[data-testid=save-view] button[type=submit]")
    page.wait_for_url(lambda url: "saved=" in url and url != first_saved)
    assert page.get_by_test_id("count-saved-" + page.url.rsplit("saved=", 1)[1]).inner_text() == "2"
    page.close()

    db.expire_all()
    for number in (first, second):
        ticket = db.get_one(Ticket, number)
        assert (ticket.status, ticket.assignee_id, ticket.tags) == (Status.PENDING, ana.id, ["refund-batch"])
    assert db.get_one(Ticket, third).status is Status.NEW
    logged = db.scalars(
        select(Event.type).where(Event.actor_id == lee.id, Event.subject_type == "ticket").order_by(Event.id)
    ).all()
    assert sorted(logged) == sorted(["assigned", "status_changed", "tags_changed"] * 2)
