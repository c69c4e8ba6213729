"""The automation pages in a real browser: an agent applies a macro from the ticket page in one click,
and an admin sees rules with their failures and macros with their usage, and switches a rule off."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.automation import macros, rules
from opsdesk.desk.automation.models import Macro, Rule, RuleKind
from opsdesk.desk.models import Channel, Message, Status, Ticket
from tests.conftest import LiveServer
from tests.factories import PASSWORD
from tests.web.browsing import sign_in


def test_apply_a_macro_on_the_ticket_page_and_manage_rules(
    browser: Any,
    live_server: LiveServer,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    people = {"password": PASSWORD, "clock": clock}
    admin = core_actions.create_user(db, email="ada@desk.test", name="Ada Admin", role=Role.ADMIN, **people)
    core_actions.create_user(
        db, email="ana@desk.test", name="Ana Lopez", role=Role.AGENT, tier=Tier.L1, **people
    )
    rita = core_actions.create_user(
        db, email="rita@acme.test", name="Rita Moreno", role=Role.REQUESTER, clock=clock
    )
    macro = macros.create_macro(
        db, owner=admin, name="Waiting on you", shared=True, clock=clock,
        reply_template="Hi {{ requester.first_name }}, could you send us the invoice number?",
        actions=[{"action": "set_field", "field": "status", "value": "pending"}],
    )  # fmt: skip
    rule = rules.create_rule(
        db, name="Tag pending", kind=RuleKind.TRIGGER,
        conditions={"all": [{"field": "status", "op": "changed_to", "value": "pending"}]},
        actions=[{"action": "add_tags", "tags": ["awaiting_customer"]}], actor=admin, clock=clock,
    )  # fmt: skip
    ticket = desk_actions.create_ticket(
        db, requester=rita, subject="Invoice", body_text="Wrong amount", channel=Channel.EMAIL, clock=clock
    )
    db.commit()
    number, macro_id, rule_id = ticket.id, macro.id, rule.id

    page = browser.new_page()
    sign_in(page, live_server, "ana@desk.test")
    page.goto(f"{live_server.url}/tickets/{number}")
    page.select_option("[data-testid=apply-macro] select[name=macro_id]", str(macro_id))
    page.click("[data-testid=apply-macro] button[type=submit]")
    assert page.get_by_test_id("status").inner_text() == "pending"
    assert "Hi Rita, could you send us the invoice number?" in page.inner_text("body")
    with session_factory() as check:
        stored = check.get_one(Ticket, number)
        assert stored.status is Status.PENDING and stored.tags == ["awaiting_customer"]  # the trigger ran too
        assert check.get_one(Macro, macro_id).usage_count == 1
        assert check.query(Message).filter_by(ticket_id=number).count() == 2

    admin_page = browser.new_page()
    sign_in(admin_page, live_server, "ada@desk.test")
    admin_page.goto(f"{live_server.url}/admin/automation")
    assert admin_page.get_by_test_id(f"macro-{macro_id}").get_by_test_id("usage").inner_text() == "1"
    row = admin_page.get_by_test_id(f"rule-{rule_id}")
    assert row.get_by_test_id("rule-status").inner_text() == "active"
    row.locator("button[type=submit]").click()
    assert admin_page.get_by_test_id(f"rule-{rule_id}").get_by_test_id("rule-status").inner_text() == "off"
    with session_factory() as check:
        assert not check.get_one(Rule, rule_id).active
