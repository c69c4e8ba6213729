"""A CSM runs the book from the pages in a real browser: lands on their own customers, works a task,
starts a playbook on a customer and approves its email, which leaves through a real SMTP server on
loopback with the right recipient and subject."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.success import actions as success
from opsdesk.success.models import ContactRole
from opsdesk.success.playbooks import actions as playbooks
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.emails import send_pending_emails
from opsdesk.success.playbooks.models import Task, TaskStatus, TriggerKind
from tests.conftest import LiveServer
from tests.desk.channels.sink import Sink, smtp_sink
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, sink: Sink) -> Settings:
    """The server's settings, mailing through the loopback sink."""
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        support_address="support@opsdesk.test",
        smtp_url=f"smtp://127.0.0.1:{sink.port}",
    )


def _book(db: Session, clock: FixedClock) -> dict[str, Any]:
    """Cleo's two customers and Otto's one; an overdue call on Acme; a renewal playbook whose email
    asks for approval."""
    who = {"password": PASSWORD, "clock": clock}
    cleo = core_actions.create_user(db, email="cleo@cs.test", name="Cleo Csm", role=Role.CSM, **who)
    otto = core_actions.create_user(db, email="otto@cs.test", name="Otto Csm", role=Role.CSM, **who)
    acme = success.create_account(db, name="Acme Health", covered_lives=1500, owner=cleo, clock=clock)
    success.create_account(db, name="Beta Bakery", covered_lives=50, owner=cleo, clock=clock)
    success.create_account(db, name="Zeta Zinc", covered_lives=400, owner=otto, clock=clock)
    success.save_contact(
        db, account=acme, name="Hana", role=ContactRole.HR_LEADER, email="hana@acme.test", clock=clock
    )
    call = playbooks.create_task(
        db, account=acme, title="Call Hana about the eligibility file", owner=cleo,
        due_on=clock.now().date() - timedelta(days=2), clock=clock,
    )  # fmt: skip
    playbooks.create_task(
        db, account=acme, title="Quarterly review", owner=cleo, due_on=date(2026, 3, 20), clock=clock
    )
    playbook = playbooks.create_playbook(
        db,
        name="Renewal outreach",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 90},
        templates=[
            TemplateSpec(title="Prepare the renewal deck for {account_name}", due_offset_days=5),
            TemplateSpec(
                title="Email {contact_name} about the renewal",
                email_subject="{account_name}: your renewal",
                email_body="Hi {contact_name},\nlet us plan {account_name}'s renewal.\n{csm_name}",
            ),
        ],
        clock=clock,
    )
    db.commit()
    return {"acme": acme, "call": call, "playbook": playbook}


# A browser test: runs on one database (tests/conftest.py), the HTTP and domain tests cover both.
def test_a_csm_works_a_task_and_sends_an_approved_playbook_email(
    browser: Any,
    live_server: LiveServer,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    settings: Settings,
    sink: Sink,
) -> None:
    data = _book(db, clock)
    page = browser.new_page()
    sign_in(page, live_server, "cleo@cs.test")

    page.click("header >> text=Customers")  # a CSM lands on their own book, a filter they can clear
    accounts = page.get_by_test_id("accounts").inner_text()
    assert "Acme Health" in accounts and "Beta Bakery" in accounts and "Zeta Zinc" not in accounts
    assert page.get_by_test_id("accounts-total").inner_text().startswith("2 customers")
    page.select_option("select[name=csm]", "")
    page.click("main button[type=submit]")
    assert "Zeta Zinc" in page.get_by_test_id("accounts").inner_text()
    page.get_by_test_id("sort-lives").click()  # covered lives, largest first
    names = page.get_by_test_id("accounts").locator("tbody tr td:first-child").all_inner_texts()
    assert names == ["Acme Health", "Zeta Zinc", "Beta Bakery"]

    page.click("header >> text=My tasks")
    rows = page.get_by_test_id("tasks").locator("tbody tr")
    assert "Call Hana" in rows.nth(0).inner_text() and "2 days overdue" in rows.nth(0).inner_text()
    assert "Quarterly review" in rows.nth(1).inner_text()
    page.get_by_test_id(f"complete-{data['call'].id}").click()
    page.wait_for_url(f"{live_server.url}/tasks")
    assert "Call Hana" not in page.get_by_test_id("tasks").inner_text()
    db.expire_all()
    assert db.get_one(Task, data["call"].id).status is TaskStatus.DONE
    done = db.scalars(select(Event).where(Event.type == "task_completed")).one()
    assert done.data["task_id"] == data["call"].id and done.actor_id is not None

    page.goto(f"{live_server.url}/customers/{data['acme'].id}")
    page.get_by_test_id("playbook-choice").select_option(label="Renewal outreach")
    page.get_by_test_id("start-playbook-button").click()
    plays = page.get_by_test_id("plays").inner_text()
    assert "Renewal outreach" in plays and "running" in plays and "0 of 2 steps done" in plays
    page.get_by_test_id("plays").get_by_text("Email Hana about the renewal").click()
    assert page.locator("input[name=email_to]").input_value() == "hana@acme.test"
    assert "Hi Hana," in page.locator("textarea[name=email_body]").input_value()
    page.fill("input[name=email_subject]", "Acme Health: planning your renewal")
    page.get_by_test_id("approve-send").click()
    assert "Queued for sending" in page.get_by_test_id("email-status").inner_text()
    assert "approved by Cleo Csm" in page.get_by_test_id("email-status").inner_text()

    assert send_pending_emails(session_factory, clock=clock, settings=settings) == 1  # the mail job
    (mail,) = sink.messages()
    assert mail["To"] == "hana@acme.test" and mail["Subject"] == "Acme Health: planning your renewal"
    assert sink.received[0][1] == ["hana@acme.test"]
    assert "let us plan Acme Health's renewal" in mail.get_content() and mail["Message-ID"]
    page.reload()
    assert "Sent" in page.get_by_test_id("email-status").inner_text()
    page.goto(f"{live_server.url}/customers/{data['acme'].id}")
    assert "Playbook email sent" in page.get_by_test_id("timeline").inner_text()
    page.close()
