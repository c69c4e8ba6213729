"""The chat WebSockets against a served app: numbered messages both ways, a resend stored once, resume
after a reconnect, typing, read state and presence, and who may connect to which side."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.desk.models import Channel, Message, Ticket
from tests.conftest import LiveServer, serving
from tests.factories import make_token, make_user
from tests.web.chat.clients import ChatClient, start_chat, ws_url


@pytest.fixture
def agent_token(db: Session, clock: FixedClock) -> str:
    agent = make_user(db, clock, Role.AGENT, email="agent@desk.example")
    token = make_token(db, clock, agent)
    db.commit()
    return token


def _transcript(db: Session, ticket_id: int) -> list[str]:
    db.expire_all()
    return list(
        db.scalars(select(Message.body_text).where(Message.ticket_id == ticket_id).order_by(Message.id))
    )


def test_visitor_and_agent_exchange_numbered_messages_and_a_resend_is_stored_once(
    live_server: LiveServer, db: Session, agent_token: str
) -> None:
    chat = start_chat(live_server.url)
    visitor = ChatClient.visitor(live_server.url, chat["token"])
    assert visitor.until("state")["state"] == "waiting"
    assert visitor.until("message")["seq"] == 1
    agent = ChatClient.agent(live_server.url, chat["conversation_id"], agent_token)
    agent.until("message", seq=1)
    agent.say("a-1", "Hello Ada, let me look")
    assert agent.until("ack")["seq"] == 2
    assert visitor.until("message")["text"] == "Hello Ada, let me look"
    assert visitor.until("state")["state"] == "active"  # the agent's first message took the chat
    for _ in range(3):  # a flaky connection resends the same message
        visitor.say("c-2", "Thank you")
        assert visitor.until("ack") == {"type": "ack", "client_id": "c-2", "seq": 3}
    agent.say("a-2", "Found it")
    assert agent.until("message", seq=4)["text"] == "Found it"
    assert sorted(agent.messages) == [1, 2, 3, 4]  # seq 3 came once, though sent three times
    visitor.close()
    agent.close()
    assert _transcript(db, chat["ticket_id"]) == [
        "Hi, my invoice is wrong",
        "Hello Ada, let me look",
        "Thank you",
        "Found it",
    ]
    ticket = db.get_one(Ticket, chat["ticket_id"])
    assert ticket.channel is Channel.CHAT


def test_a_reconnecting_visitor_gets_what_it_missed_and_the_agent_sees_presence(
    live_server: LiveServer, agent_token: str
) -> None:
    chat = start_chat(live_server.url)
    agent = ChatClient.agent(live_server.url, chat["conversation_id"], agent_token)
    agent.until("message", seq=1)
    visitor = ChatClient.visitor(live_server.url, chat["token"])
    visitor.until("message", seq=1)
    visitor.close()
    assert agent.until("presence")["visitor"] == "left"
    agent.say("a-1", "Are you there?")
    agent.say("a-2", "I will email you")
    agent.until("ack", seq=3)
    back = ChatClient.visitor(live_server.url, chat["token"], last_seq=1)
    state = back.until("state")
    assert (state["last_seq"], state["visitor"]) == (3, "online")
    assert [back.until("message")["seq"] for _ in range(2)] == [2, 3]
    assert agent.until("presence")["visitor"] == "online"
    back.send({"type": "typing", "on": True})
    assert agent.until("typing") == {"type": "typing", "from": "visitor", "on": True}
    back.send({"type": "read", "seq": 3})
    assert agent.until("read") == {"type": "read", "from": "visitor", "seq": 3}
    back.send({"type": "hello", "token": chat["token"], "last_seq": 2})  # a resync after a gap
    assert back.until("message")["seq"] == 3
    back.send({"type": "send", "client_id": "bad id", "text": "x"})
    assert back.until("error")["field"] == "client_id"
    back.close()
    agent.close()


def test_ending_the_chat_reaches_both_sides_and_the_rating_is_the_tickets_csat(
    live_server: LiveServer, agent_token: str
) -> None:
    chat = start_chat(live_server.url)
    agent = ChatClient.agent(live_server.url, chat["conversation_id"], agent_token)
    visitor = ChatClient.visitor(live_server.url, chat["token"])
    agent.send({"type": "accept"})
    visitor.until("state", state="active")
    agent.say("a-1", "Hello, how can I help?")
    visitor.until("message")
    visitor.send({"type": "rate", "rating": "good"})
    assert visitor.until("error")["field"] == "rating"  # not before the end
    agent.send({"type": "end"})
    assert visitor.until("ended") == {"type": "ended", "by": "agent"}
    visitor.send({"type": "rate", "rating": "good", "comment": "quick and kind"})
    assert visitor.until("rated") == {"type": "rated", "rating": "good", "stored": True}
    with live_server.client(agent_token) as http:
        stored = http.get(f"/api/v1/tickets/{chat['ticket_id']}/satisfaction")
    assert stored.status_code == 200, stored.text
    assert {k: stored.json()[k] for k in ("rating", "via", "comment")} == {
        "rating": "good",
        "via": "chat",
        "comment": "quick and kind",
    }
    visitor.send({"type": "rate", "rating": "bad"})  # changed while the ticket is open, as by mail
    assert visitor.until("rated")["rating"] == "bad"
    agent.say("a-9", "late")
    assert agent.until("error")["message"] == "this chat has ended"
    agent.close()
    visitor.close()


def _close_code(connect: Any) -> int:
    with pytest.raises(ConnectionClosed) as closed:  # the server may close before the hello is sent
        client = connect()
        while True:
            client.next()
    assert closed.value.rcvd is not None
    return int(closed.value.rcvd.code)


def test_who_may_connect(live_server: LiveServer, db: Session, clock: FixedClock, agent_token: str) -> None:
    chat = start_chat(live_server.url)
    requester = db.get_one(Ticket, chat["ticket_id"]).requester
    customer = make_user(db, clock, Role.REQUESTER, email="someone@customer.example")
    customer_token = make_token(db, clock, customer)
    db.commit()
    url = live_server.url
    assert _close_code(lambda: ChatClient.visitor(url, chat["token"] + "x")) == 4401
    assert _close_code(lambda: ChatClient.agent(url, chat["conversation_id"], customer_token)) == 4403
    assert _close_code(lambda: ChatClient.agent(url, chat["conversation_id"], "nonsense")) == 4401
    assert _close_code(lambda: ChatClient.agent(url, 999_999, agent_token)) == 4404
    assert requester.role is Role.REQUESTER


def test_a_sensitive_chat_is_not_found_by_an_agent_without_sensitive_access(
    live_server: LiveServer, db: Session, agent_token: str
) -> None:
    chat = start_chat(live_server.url)
    db.get_one(Ticket, chat["ticket_id"]).sensitive = True
    db.commit()
    assert (
        _close_code(lambda: ChatClient.agent(live_server.url, chat["conversation_id"], agent_token)) == 4404
    )


def test_the_widget_endpoints_answer_allowed_origins_only(
    engine: Any, clock: FixedClock, settings: Any
) -> None:
    from opsdesk.web.app import create_app

    settings.chat_widget_origins = "https://shop.example"
    with serving(create_app(settings, engine=engine, clock=clock)) as server:
        ok = httpx.options(
            server.url + "/api/v1/chat/start",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        )
        assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "https://shop.example"
        refused = httpx.post(
            server.url + "/api/v1/chat/start", json={}, headers={"Origin": "https://evil.example"}
        )
        assert refused.status_code == 403 and refused.json()["error"]["field"] == "origin"
        invalid = httpx.post(
            server.url + "/api/v1/chat/start", json={"name": "x"}, headers={"Origin": "https://shop.example"}
        )
        assert (
            invalid.status_code == 422
            and invalid.headers["access-control-allow-origin"] == "https://shop.example"
        )
        client = ChatClient(
            __import__("websockets.sync.client", fromlist=["connect"]).connect(
                ws_url(server.url, "/chat/ws/visitor"),
                origin="https://evil.example",  # type: ignore[arg-type]
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            client.next()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_with_nobody_online_a_message_becomes_an_email_ticket(live_server: LiveServer, db: Session) -> None:
    availability = httpx.get(live_server.url + "/api/v1/chat/availability").json()
    assert availability == {"online": False, "reason": "nobody_online"}
    body = {
        "visitor_id": "v-offline-visitor-1",
        "client_id": "c-1",
        "name": "Bo",
        "email": "bo@later.example",
        "text": "Please call me back\nabout my plan",
    }
    first = httpx.post(live_server.url + "/api/v1/chat/offline", json=body)
    again = httpx.post(live_server.url + "/api/v1/chat/offline", json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    ticket = db.get_one(Ticket, first.json()["ticket_id"])
    assert (ticket.channel, ticket.subject, ticket.requester.email) == (
        Channel.EMAIL,
        "Please call me back",
        "bo@later.example",
    )


def test_transfer_to_a_group_waits_there_and_a_reader_without_reply_rights_is_refused(
    live_server: LiveServer, db: Session, clock: FixedClock, agent_token: str
) -> None:
    from opsdesk.core.models import Group

    group = Group(name="Billing")
    reviewer = make_user(db, clock, Role.QA_REVIEWER, email="qa@desk.example")
    reviewer_token = make_token(db, clock, reviewer)
    db.add(group)
    db.commit()
    chat = start_chat(live_server.url)
    agent = ChatClient.agent(live_server.url, chat["conversation_id"], agent_token)
    agent.send({"type": "accept"})
    agent.until("state", state="active")
    agent.send({"type": "transfer", "to_group_id": group.id})
    moved = agent.until("state", state="waiting")
    assert moved["agent_id"] is None
    agent.send({"type": "transfer", "to_agent_id": 999_999})
    assert agent.until("error")["field"] == "to_agent_id"
    agent.close()
    db.expire_all()
    assert db.get_one(Ticket, chat["ticket_id"]).group_id == group.id
    assert (
        _close_code(lambda: ChatClient.agent(live_server.url, chat["conversation_id"], reviewer_token))
        == 4403
    )


def test_chat_is_available_while_an_agent_has_the_console_open_and_only_in_its_hours(
    engine: Any, clock: FixedClock, settings: Any, db: Session, agent_token: str
) -> None:
    from websockets.sync.client import connect

    from opsdesk.desk.sla.actions import create_business_schedule
    from opsdesk.web.app import create_app

    create_business_schedule(
        db,
        name="Chat hours",
        timezone="Europe/Dublin",
        intervals=[{"weekday": 0, "start": "08:00", "end": "17:00"}],
        actor=None,
        clock=clock,
    )
    db.commit()
    settings.chat_schedule = "Chat hours"
    with serving(create_app(settings, engine=engine, clock=clock)) as server:
        availability = server.url + "/api/v1/chat/availability"
        console = connect(
            ws_url(server.url, "/chat/ws/console"),
            additional_headers={"Authorization": f"Bearer {agent_token}"},
        )
        _until(lambda: httpx.get(availability).json()["online"])  # Monday 09:00 in Dublin
        assert httpx.get(availability).json() == {"online": True, "reason": None}
        clock.set(clock.now().replace(hour=18))
        assert httpx.get(availability).json() == {"online": False, "reason": "closed"}
        refused = httpx.post(
            server.url + "/api/v1/chat/start",
            json={"visitor_id": "v-closed-hours-visitor", "client_id": "c-1", "name": "Al", "text": "hi"},
        )
        assert refused.status_code == 409 and refused.json()["error"]["field"] == "chat"
        console.close()
        clock.set(clock.now().replace(hour=9))
        _until(lambda: httpx.get(availability).json() == {"online": False, "reason": "nobody_online"})


def _until(check: Any) -> None:
    """Polls a served app until ``check`` holds (the console registers asynchronously)."""
    import time

    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_visitor_sends_a_file_once_and_only_their_chat_can_fetch_it(
    live_server: LiveServer, db: Session, agent_token: str
) -> None:
    chat = start_chat(live_server.url)
    other = start_chat(live_server.url)
    agent = ChatClient.agent(live_server.url, chat["conversation_id"], agent_token)
    agent.until("message", seq=1)
    auth = {"Authorization": f"Bearer {chat['token']}"}
    upload = {"file": ("receipt.pdf", b"%PDF-1.4 receipt", "application/pdf")}
    for _ in range(2):  # a resend
        sent = httpx.post(
            live_server.url + "/api/v1/chat/messages",
            headers=auth,
            data={"client_id": "c-file", "text": "Here is the receipt"},
            files=upload,
        )
        assert sent.status_code == 201, sent.text
        assert sent.json() == {"type": "ack", "client_id": "c-file", "seq": 2}
    frame = agent.until("message", seq=2)
    (attachment,) = frame["attachments"]
    assert (attachment["filename"], frame["text"]) == ("receipt.pdf", "Here is the receipt")
    url = f"{live_server.url}/api/v1/chat/attachments/{attachment['id']}"
    got = httpx.get(url, headers=auth)
    assert (got.status_code, got.content) == (200, b"%PDF-1.4 receipt")
    assert httpx.get(url, headers={"Authorization": f"Bearer {other['token']}"}).status_code == 404
    assert httpx.get(url).status_code == 401
    agent.close()
    db.expire_all()
    ticket = db.get_one(Ticket, chat["ticket_id"])
    assert [len(m.attachments) for m in ticket.messages] == [0, 1]


def test_new_chats_from_one_address_are_limited(live_server: LiveServer) -> None:
    from opsdesk.desk.channels.chat.throttle import NEW_CHATS

    for _ in range(NEW_CHATS.attempts):
        start_chat(live_server.url)
    body = {"visitor_id": "v-one-too-many-chats", "client_id": "c-1", "name": "Al", "text": "hi"}
    refused = httpx.post(live_server.url + "/api/v1/chat/start", json=body)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    offline = httpx.post(live_server.url + "/api/v1/chat/offline", json={**body, "email": "al@x.example"})
    assert offline.status_code == 429
