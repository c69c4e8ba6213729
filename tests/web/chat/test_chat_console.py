"""The console pages: staff only, a chat beside the requester's organisation and other tickets that
the reader may see, sensitive chats need-to-know; the agent socket refuses a cookie sent from
another site's page; and an agent sends a file that only that chat's visitor and the ticket's
readers can fetch."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry, Organisation, Role
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from opsdesk.web.deps import SESSION_COOKIE
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_token, make_user
from tests.web.chat.clients import ChatClient, start_chat, ws_url
from tests.web.signin_http import sign_in_http


def test_the_console_is_for_staff_and_shows_the_requester_beside_the_chat(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    chat = start_chat(live_server.url, email="lee@acme.example", text="Where is my refund?")
    ticket = db.get_one(Ticket, chat["ticket_id"])
    organisation = Organisation(name="Acme Health", domain="acme.example", created_at=clock.now())
    db.add(organisation)
    db.flush()
    ticket.requester.organisation_id = organisation.id
    ticket.organisation_id = organisation.id
    for subject, sensitive in (("Earlier billing question", False), ("Diagnosis on my claim", True)):
        desk_actions.create_ticket(
            db,
            requester=ticket.requester,
            subject=subject,
            body_text="text",
            channel=Channel.EMAIL,
            clock=clock,
            sensitive=sensitive,
        )
    make_user(db, clock, Role.AGENT, email="kim@desk.example")
    core_actions.create_user(
        db, email="pat@acme.example", name="Pat", role=Role.REQUESTER, password=PASSWORD, clock=clock
    )
    db.commit()
    with live_server.client() as client:
        sign_in_http(client, "kim@desk.example")
        console = client.get("/chat")
        assert console.status_code == 200 and "Where is my refund?" in console.text
        panel = client.get(f"/chat/{chat['conversation_id']}")
        assert "Acme Health" in panel.text and "Earlier billing question" in panel.text
        assert "Diagnosis on my claim" not in panel.text  # sensitive: not for this agent
        assert client.get("/chat/999999").status_code == 404
    with live_server.client() as client:
        sign_in_http(client, "pat@acme.example")
        assert client.get("/chat", follow_redirects=False).headers["location"] == "/portal"


def test_a_sensitive_chat_panel_is_need_to_know_and_the_refusal_audited(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    chat = start_chat(live_server.url)
    db.get_one(Ticket, chat["ticket_id"]).sensitive = True
    make_user(db, clock, Role.AGENT, email="kim@desk.example")
    db.commit()
    with live_server.client() as client:
        sign_in_http(client, "kim@desk.example")
        assert client.get(f"/chat/{chat['conversation_id']}").status_code == 404
    db.expire_all()
    assert (
        db.scalar(select(AuditEntry.action).where(AuditEntry.subject_id == chat["ticket_id"]))
        == "ticket_read_denied"
    )


def test_the_agent_socket_takes_a_cookie_only_from_this_sites_pages(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    chat = start_chat(live_server.url)
    make_user(db, clock, Role.AGENT, email="kim@desk.example")
    db.commit()
    with live_server.client() as client:
        sign_in_http(client, "kim@desk.example")
        cookie = client.cookies[SESSION_COOKIE]
    url = ws_url(live_server.url, f"/chat/ws/agent/{chat['conversation_id']}")
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    with connect(url, additional_headers=headers, origin="https://evil.example") as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with connect(url, additional_headers=headers, origin=live_server.url) as ws:  # type: ignore[arg-type]
        ws.send('{"type":"hello","last_seq":0}')
        assert '"type": "state"' in str(ws.recv(timeout=10))


def test_an_agent_sends_a_file_that_only_the_chat_and_the_ticket_s_readers_can_fetch(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    chat = start_chat(live_server.url)
    other = start_chat(live_server.url)
    kim = make_user(db, clock, Role.AGENT, email="kim@desk.example")
    kim_token = make_token(db, clock, kim)
    requester_token = make_token(db, clock, db.get_one(Ticket, other["ticket_id"]).requester)
    db.commit()
    visitor = ChatClient.visitor(live_server.url, chat["token"])
    visitor.until("message", seq=1)
    path = f"/chat/{chat['conversation_id']}/messages"
    upload = {"file": ("invoice.pdf", b"%PDF-1.4 corrected invoice", "application/pdf")}
    with live_server.client() as client:
        sign_in_http(client, "kim@desk.example")
        csrf = re.search(r'data-csrf="([^"]+)"', client.get(f"/chat/{chat['conversation_id']}").text)
        assert csrf is not None
        forged = client.post(path, data={"client_id": "f-1"}, files=upload)  # no CSRF token
        assert forged.status_code == 400
        form = {"csrf_token": csrf.group(1), "client_id": "f-1", "text": "Here is the corrected one"}
        for _ in range(2):  # a resend is stored once
            sent = client.post(path, data=form, files=upload)
            assert sent.status_code == 201, sent.text
            assert sent.json() == {"type": "ack", "client_id": "f-1", "seq": 2}
    frame = visitor.until("message", seq=2)
    assert (frame["sender"], frame["text"]) == ("agent", "Here is the corrected one")
    (attachment,) = frame["attachments"]
    assert attachment["filename"] == "invoice.pdf"
    assert visitor.until("state")["state"] == "active"  # the agent's first message took the chat
    visitor.close()
    url = f"{live_server.url}/api/v1/chat/attachments/{attachment['id']}"
    got = httpx.get(url, headers={"Authorization": f"Bearer {chat['token']}"})
    assert (got.status_code, got.content) == (200, b"%PDF-1.4 corrected invoice")
    assert httpx.get(url, headers={"Authorization": f"Bearer {other['token']}"}).status_code == 404
    staff_url = f"{live_server.url}/api/v1/tickets/{chat['ticket_id']}/attachments/{attachment['id']}"
    assert httpx.get(staff_url, headers={"Authorization": f"Bearer {kim_token}"}).content == got.content
    # Another chat's customer, signed in with their own token, may not read this ticket's files.
    assert httpx.get(staff_url, headers={"Authorization": f"Bearer {requester_token}"}).status_code == 404
    db.expire_all()
    ticket = db.get_one(Ticket, chat["ticket_id"])
    assert [(m.author_kind, [a.filename for a in m.attachments]) for m in ticket.messages] == [
        (AuthorKind.REQUESTER, []),
        (AuthorKind.AGENT, ["invoice.pdf"]),
    ]
