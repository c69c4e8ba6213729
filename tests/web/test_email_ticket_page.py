"""The email side of the ticket page in a real browser: the quoted history folded under a reply, the
raw mail linked, a Cc removed with its button, and the requester's other tickets beside the ticket."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import receive_and_commit
from tests.conftest import LiveServer
from tests.desk.channels.mail import mail
from tests.factories import make_user
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser

REPLY = """The export works again, thanks.

On Mon, Mar 2, 2026 at 9:00 AM OpsDesk Support <support@opsdesk.test> wrote:
> Please retry the export now.
"""


def test_quoted_history_raw_mail_ccs_and_other_tickets_on_the_page(
    browser: Any,
    live_server: LiveServer,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    settings: Settings,
) -> None:
    store = AttachmentStore.from_settings(settings)

    def file(raw: bytes) -> int:
        result = receive_and_commit(session_factory, raw=raw, clock=clock, store=store, settings=settings)
        assert result.ticket_id is not None
        return result.ticket_id

    earlier = file(mail(message_id="<old@acme.example>", subject="Invoice copy"))
    number = file(
        mail(message_id="<new@acme.example>", subject="Export fails", headers={"Cc": "lee@acme.example"})
    )
    assert file(mail(message_id="<re@acme.example>", in_reply_to="<new@acme.example>", text=REPLY)) == number
    make_user(db, clock, Role.AGENT, email="agent@opsdesk.test")
    db.commit()

    page = browser.new_page()
    sign_in(page, live_server, "agent@opsdesk.test")
    page.goto(f"{live_server.url}/tickets/{number}")
    messages = page.get_by_test_id("message")
    assert messages.nth(1).locator(".body").inner_text().strip() == "The export works again, thanks."
    quoted = page.get_by_test_id("quoted-history")
    assert quoted.count() == 1
    assert not quoted.get_by_text("Please retry the export now.").is_visible()  # folded
    quoted.locator("summary").click()
    assert quoted.get_by_text("Please retry the export now.").is_visible()
    assert page.get_by_test_id("raw-email").count() == 2

    assert page.get_by_test_id("cc").inner_text().startswith("lee@acme.example")
    page.get_by_role("button", name="Stop copying lee@acme.example").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("cc").count() == 0

    others = page.get_by_test_id("recent-ticket")
    assert others.count() == 1
    assert f"#{earlier} Invoice copy" in others.inner_text()
    page.close()
