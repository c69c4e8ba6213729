"""A customer chats from the widget on a plain page of another site while an agent answers in the
console, in two browser contexts of Debian's chromium; the ticket holds both sides in order, and the
customer's end-of-chat rating is the ticket's CSAT and moves their account's CSAT measure."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.desk.models import Message, Ticket
from opsdesk.success.health.actions import score_accounts
from opsdesk.success.health.queries import latest_score
from tests.conftest import LiveServer, free_port
from tests.factories import make_user
from tests.success.health.test_actions import book
from tests.web.browsing import sign_in


@pytest.fixture
def customer_site(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """A plain page on another origin with the one embedding tag, as a customer's site has it."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Acme shop</h1>"
        f'<script src="{live_server.url}/static/chat/widget.js" async></script></body></html>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()
    thread.join()


def test_widget_and_console_chat_end_to_end(
    live_server: LiveServer, customer_site: str, browser: Any, db: Session, clock: FixedClock
) -> None:
    agent = make_user(db, clock, Role.AGENT, email="sam@desk.example")
    account = book(db, clock)  # the customer's employer: the shop's domain is its organisation's
    assert account.organisation is not None
    account.organisation.domain = "shop.example"
    score_accounts(db, as_of=clock.now().date(), clock=clock)
    before = latest_score(db, account.id)
    assert before is not None and before.measures["csat"]["raw"] is None  # no rating yet
    db.commit()
    console_context = browser.new_context()
    console = sign_in(console_context.new_page(), live_server, "sam@desk.example")
    console.goto(live_server.url + "/chat")
    console.wait_for_function("document.querySelector('#chat-list') !== null")
    console.wait_for_timeout(300)  # the console socket registers the agent as online

    customer_context = browser.new_context()
    customer = customer_context.new_page()
    customer.goto(customer_site)
    customer.locator("#opsdesk-chat [data-testid=chat-open]").click()
    form = customer.locator("#opsdesk-chat [data-testid=prechat]")
    form.locator("input[name=name]").fill("Ada Visitor")
    form.locator("input[name=email]").fill("ada@shop.example")
    form.locator("textarea[name=text]").fill("My order never arrived")
    form.locator("button[type=submit]").click()
    widget_messages = customer.locator("#opsdesk-chat [data-testid=chat-messages] li[data-seq]")
    widget_messages.first.wait_for()

    console.locator("[data-testid=chat-item]", has_text="Ada Visitor").click()
    panel = console.locator("[data-testid=chat-panel]", has_text="Ada Visitor")
    panel.locator("[data-testid=chat-transcript] li[data-seq='1']").wait_for()
    panel.locator("[data-testid=chat-accept]").click()
    panel.locator("[data-testid=chat-state]", has_text="active").wait_for()
    panel.locator("[data-testid=chat-reply]").fill("Sorry to hear that, let me check")
    panel.locator("[data-testid=chat-reply-send]").click()

    customer.locator("#opsdesk-chat li[data-seq='2']", has_text="let me check").wait_for()
    customer.locator("#opsdesk-chat [data-testid=chat-input]").fill("Thank you!")
    customer.locator("#opsdesk-chat [data-testid=chat-send]").click()
    panel.locator("li[data-seq='3']", has_text="Thank you!").wait_for()
    customer.locator("#opsdesk-chat [data-testid=chat-seen]").wait_for()  # the agent's console read it
    customer.locator("#opsdesk-chat [data-testid=chat-file]").set_input_files(
        {"name": "receipt.txt", "mimeType": "text/plain", "buffer": b"order 1234"}
    )
    file_link = panel.locator("li[data-seq='4'] a.file-link", has_text="receipt.txt")
    file_link.wait_for()
    assert console.request.get(live_server.url + file_link.get_attribute("href")).body() == b"order 1234"
    # The agent sends a file back: the customer downloads it from the widget.
    panel.locator("[data-testid=chat-agent-file]").set_input_files(
        {"name": "label.txt", "mimeType": "text/plain", "buffer": b"return label"}
    )
    sent_file = customer.locator("#opsdesk-chat li[data-seq='5'] button.file-link", has_text="label.txt")
    with customer.expect_download() as download:
        sent_file.click()
    assert Path(download.value.path()).read_bytes() == b"return label"

    # A second customer at the same time: the console holds both chats side by side.
    second_context = browser.new_context()
    second = second_context.new_page()
    second.goto(customer_site)
    second.locator("#opsdesk-chat [data-testid=chat-open]").click()
    second_form = second.locator("#opsdesk-chat [data-testid=prechat]")
    second_form.locator("input[name=name]").fill("Bo Second")
    second_form.locator("textarea[name=text]").fill("Can I change my plan?")
    second_form.locator("button[type=submit]").click()
    console.locator("[data-testid=chat-item]", has_text="Bo Second").click()
    second_panel = console.locator("[data-testid=chat-panel]", has_text="Bo Second")
    second_panel.locator("li[data-seq='1']", has_text="change my plan").wait_for()
    second_panel.locator("[data-testid=chat-reply]").fill("Yes, from your account page")
    second_panel.locator("[data-testid=chat-reply-send]").click()
    second.locator("#opsdesk-chat li[data-seq='2']", has_text="account page").wait_for()
    assert customer.locator("#opsdesk-chat li", has_text="account page").count() == 0
    second_context.close()

    panel = console.locator("[data-testid=chat-panel]", has_text="Ada Visitor")
    panel.locator("[data-testid=chat-end-agent]").click()
    rate = customer.locator("#opsdesk-chat [data-testid=chat-rate]")
    rate.wait_for()
    rate.locator("button[data-rating=good]").click()
    customer.locator("#opsdesk-chat [data-testid=chat-notice]", has_text="Thank you").wait_for()
    console_context.close()
    customer_context.close()

    db.expire_all()
    ticket = db.scalars(select(Ticket).where(Ticket.requester.has(email="ada@shop.example"))).one()
    transcript = list(
        db.execute(
            select(Message.author_kind, Message.body_text)
            .where(Message.ticket_id == ticket.id)
            .order_by(Message.id)
        )
    )
    assert [(kind.value, text) for kind, text in transcript] == [
        ("requester", "My order never arrived"),
        ("agent", "Sorry to hear that, let me check"),
        ("requester", "Thank you!"),
        ("requester", ""),
        ("agent", ""),
    ]
    chat_events = db.scalars(
        select(Event.type).where(Event.subject_id == ticket.id, Event.type.like("chat_%")).order_by(Event.id)
    ).all()
    assert chat_events == ["chat_started", "chat_agent_joined", "chat_ended"]
    assert ticket.assignee_id == agent.id
    # The rating is the ticket's CSAT, and the customer's CSAT measure moves with it.
    rated = db.scalars(
        select(Event).where(Event.subject_id == ticket.id, Event.type == "csat_received")
    ).one()
    assert rated.data["rating"] == "good" and rated.data["via"] == "chat"
    assert ticket.organisation_id == account.organisation_id
    score_accounts(db, as_of=clock.now().date(), clock=clock)
    after = latest_score(db, account.id)
    assert after is not None and after.measures["csat"]["raw"] == 100.0
