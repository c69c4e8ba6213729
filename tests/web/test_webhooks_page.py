"""The admin's webhooks page in a real browser: add a subscription (its secret shown once), see a dead
letter and replay it; an agent is refused the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from opsdesk.desk.outbound_webhooks.sender import send_due
from tests.conftest import LiveServer
from tests.desk.outbound_webhooks.receiver import receiver
from tests.factories import PASSWORD
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        webhook_allow_private_targets=True,
        webhook_max_attempts=1,
    )


def test_an_admin_adds_a_webhook_and_replays_its_dead_letter(
    browser: Any,
    live_server: LiveServer,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    settings: Settings,
) -> None:
    people = {"password": PASSWORD, "clock": clock}
    core_actions.create_user(db, email="ada@desk.test", name="Ada", role=Role.ADMIN, **people)
    core_actions.create_user(db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L1, **people)
    rita = core_actions.create_user(db, email="rita@acme.test", name="Rita", role=Role.REQUESTER, clock=clock)
    db.commit()

    agent = browser.new_page()
    sign_in(agent, live_server, "ana@desk.test")
    assert agent.goto(f"{live_server.url}/admin/webhooks").status == 403
    assert agent.locator("a[href='/admin/webhooks']").count() == 0
    agent.close()

    with receiver() as hooks:
        hooks.answer(503)
        page = browser.new_page()
        sign_in(page, live_server, "ada@desk.test")
        page.click("a[href='/admin/webhooks']")
        page.fill("form[data-testid=add-webhook] input[name=name]", "crm")
        page.fill("form[data-testid=add-webhook] input[name=url]", hooks.url)
        page.fill("form[data-testid=add-webhook] input[name=event_types]", "ticket_created")
        page.click("form[data-testid=add-webhook] button[type=submit]")
        assert "whsec_" in page.get_by_test_id("new-secret").inner_text()
        assert "withheld" in page.get_by_test_id("subscription-crm").inner_text()

        desk_actions.create_ticket(
            db, requester=rita, subject="Hi", body_text="x", channel=Channel.EMAIL, clock=clock
        )
        db.commit()
        with session_factory() as session, session.begin():
            dispatch(session, clock=clock)
        dead = send_due(session_factory, clock=clock, settings=settings).dead
        assert len(dead) == 1

        page.goto(f"{live_server.url}/admin/webhooks")
        row = page.get_by_test_id(f"dead-{dead[0]}")
        assert "answered 503" in row.inner_text()
        row.locator("button").click()
        page.wait_for_load_state()
        assert page.get_by_test_id(f"dead-{dead[0]}").count() == 0
        page.close()
    db.expire_all()
    assert db.get_one(WebhookDelivery, dead[0]).status is DeliveryStatus.PENDING
    assert db.scalars(select(WebhookSubscription.name)).all() == ["crm"]
