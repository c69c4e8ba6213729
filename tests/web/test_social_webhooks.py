"""The social webhook and the outbound connector over real HTTP: refusals leave no record, repeats
create nothing new, posts thread by their reply chain, and agent replies go out signed, retried and
checked against the platform's length limit; the ticket page shows each reply's delivery state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Identity, IdentityKind, Role
from opsdesk.core.settings import Settings, SocialConnector
from opsdesk.desk.channels import webhooks
from opsdesk.desk.channels.models import WebhookReceipt
from opsdesk.desk.channels.social.models import DeliveryStatus, SocialDelivery, SocialPost
from opsdesk.desk.channels.social.outbound import BACKOFF, send_pending_social
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket
from tests.conftest import LiveServer, serving
from tests.desk.channels.signed import SOCIAL_SECRET, post_signed
from tests.factories import make_token, make_user
from tests.web.signin_http import sign_in_http

SOCIAL = "/api/v1/channels/social/events"
CONNECTOR_SECRET = "whsec_Y29ubmVjdG9yIHNlY3JldCBmb3IgcmVwbGllcw=="


class Sink:
    """A platform connector on loopback: records each signed reply, answers with the next status."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        app = FastAPI()

        @app.post("/replies")
        async def replies(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if self.statuses else 200
            return Response(json.dumps({"post_id": f"out-{len(self.received)}"}), status_code=status)

        self.app = app


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    connector = Sink()
    with serving(connector.app) as server:
        yield connector, f"{server.url}/replies"


@pytest.fixture
def settings(tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        social_webhook_secret=SOCIAL_SECRET,
        social_connectors={"twitter": SocialConnector(url=sink[1], secret=CONNECTOR_SECRET, max_length=40)},
    )


def post(clock: FixedClock, post_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "twitter",
        "post_id": post_id,
        "author_handle": "@Alice",
        "author_name": "Alice Ng",
        "text": f"post {post_id}",
        "public": True,
        "posted_at": clock.now().isoformat(),
        **extra,
    }


def send(live_server: LiveServer, clock: FixedClock, payload: dict[str, Any] | bytes, msg_id: str, **kw: Any):  # type: ignore[no-untyped-def]
    with live_server.client() as client:
        return post_signed(
            client, SOCIAL, payload, secret=kw.pop("secret", SOCIAL_SECRET), msg_id=msg_id, clock=clock, **kw
        )


def counts(db: Session) -> dict[str, int]:
    db.rollback()
    return {
        table.__name__: db.scalar(select(func.count()).select_from(table)) or 0
        for table in (SocialPost, Ticket, Message, WebhookReceipt, Event, Identity)
    }


def test_refusals_leave_no_record_and_repeats_create_nothing(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    before = counts(db)
    first = post(clock, "p1")
    assert (
        send(live_server, clock, first, "m1", secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUE=").status_code
        == 401
    )
    assert send(live_server, clock, first, "m1", skew_s=-600).status_code == 401
    for bad in (
        b"[]",
        json.dumps(first | {"public": "maybe"}).encode(),
        json.dumps({**first, "text": ""}).encode(),
    ):
        assert send(live_server, clock, bad, "m2").status_code == 422
    assert counts(db) == before
    assert send(live_server, clock, first, "m1").status_code == 200
    once = counts(db)
    again = send(live_server, clock, first, "m1")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert send(live_server, clock, post(clock, "p2"), "m1").status_code == 409  # a replayed id
    assert counts(db) == once
    same_post = send(live_server, clock, first, "m3")  # the connector re-sends the post under a new id
    assert same_post.status_code == 200
    assert {k: v for k, v in counts(db).items() if k != "WebhookReceipt"} == {
        k: v for k, v in once.items() if k != "WebhookReceipt"
    }


def test_posts_thread_by_reply_chain_and_a_handle_is_a_requester(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    t0 = clock.now()

    def at(minutes: int) -> str:
        return (t0 - timedelta(hours=1) + timedelta(minutes=minutes)).isoformat()

    a = send(live_server, clock, post(clock, "a", posted_at=at(0)), "m1").json()["ticket"]
    send(
        live_server,
        clock,
        post(clock, "b", in_reply_to_id="a", author_handle="acme", from_brand=True, posted_at=at(7)),
        "m2",
    )
    c = send(live_server, clock, post(clock, "c", in_reply_to_id="b", posted_at=at(9)), "m3").json()["ticket"]
    other = send(live_server, clock, post(clock, "x", author_handle="bob", posted_at=at(10)), "m4").json()[
        "ticket"
    ]
    assert a == c and other != a
    ticket = db.get_one(Ticket, a)
    assert ticket.channel is Channel.SOCIAL and ticket.created_at == t0 - timedelta(hours=1)
    kinds = [(m.author_kind, m.body_text) for m in ticket.messages]
    assert kinds == [
        (AuthorKind.REQUESTER, "post a"),
        (AuthorKind.AGENT, "post b"),
        (AuthorKind.REQUESTER, "post c"),
    ]
    assert ticket.messages[1].created_at - ticket.created_at == timedelta(minutes=7)
    identity = db.scalars(
        select(Identity).where(Identity.kind == IdentityKind.SOCIAL, Identity.user_id == ticket.requester_id)
    ).one()
    assert identity.value == "twitter:alice" and ticket.requester.name == "Alice Ng"
    # Private messages without a reply id continue the sender's open private conversation.
    dm1 = send(live_server, clock, post(clock, "d1", public=False, posted_at=at(20)), "m5").json()["ticket"]
    dm2 = send(live_server, clock, post(clock, "d2", public=False, posted_at=at(21)), "m6").json()["ticket"]
    assert dm1 == dm2 and dm1 != a


def deliveries(db: Session) -> list[SocialDelivery]:
    db.rollback()
    return list(db.scalars(select(SocialDelivery).order_by(SocialDelivery.id)))


def test_agent_replies_go_out_signed_with_retries_and_a_visible_state(
    db: Session,
    clock: FixedClock,
    live_server: LiveServer,
    sink: tuple[Sink, str],
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    connector, _url = sink
    agent = make_user(db, clock, Role.AGENT, email="ana@opsdesk.test", password=None)
    token = make_token(db, clock, agent)
    db.commit()
    ticket = send(live_server, clock, post(clock, "p1"), "m1").json()["ticket"]
    with live_server.client(token) as client:
        assert (
            client.post(
                f"/api/v1/tickets/{ticket}/messages", json={"body_text": "Sorry! DM us?", "public": True}
            ).status_code
            == 201
        )
        too_long = client.post(
            f"/api/v1/tickets/{ticket}/messages", json={"body_text": "x" * 41, "public": True}
        )
        assert too_long.status_code == 422
        assert too_long.json()["error"]["field"] == "body_text"
        assert "limit of 40" in too_long.json()["error"]["message"]
        # An internal note is not posted anywhere: no limit.
        note = client.post(
            f"/api/v1/tickets/{ticket}/messages", json={"body_text": "x" * 41, "public": False}
        )
        assert note.status_code == 201
    connector.statuses = [503, 502]
    assert send_pending_social(session_factory, clock=clock, settings=settings) == 0
    (short,) = deliveries(db)  # the refused reply left nothing to send
    assert (short.status, short.attempts, short.last_error) == (
        DeliveryStatus.PENDING,
        1,
        "the connector answered 503",
    )
    assert short.next_attempt_at == clock.now() + BACKOFF[0]
    assert len(connector.received) == 1
    assert send_pending_social(session_factory, clock=clock, settings=settings) == 0  # not due yet
    clock.advance(BACKOFF[0])
    assert send_pending_social(session_factory, clock=clock, settings=settings) == 0  # 502
    clock.advance(BACKOFF[1])
    assert send_pending_social(session_factory, clock=clock, settings=settings) == 1
    headers, body = connector.received[-1]
    assert webhooks.verify([CONNECTOR_SECRET], headers, body, now=clock.now(), tolerance=timedelta(minutes=5))
    sent = json.loads(body)
    assert sent == {
        "delivery_id": short.id,
        "ticket": ticket,
        "platform": "twitter",
        "in_reply_to_id": "p1",
        "recipient_handle": "alice",
        "public": True,
        "text": "Sorry! DM us?",
    }
    with live_server.client(token) as client:
        states = client.get(f"/api/v1/channels/social/tickets/{ticket}/deliveries").json()
    assert [(s["status"], s["attempts"], s["external_post_id"]) for s in states] == [("sent", 3, "out-3")]
    # The customer answers our post: it threads into the same ticket.
    assert (
        send(live_server, clock, post(clock, "p2", in_reply_to_id="out-3"), "m2").json()["ticket"] == ticket
    )
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def page_state(client: httpx.Client, ticket: int) -> list[tuple[str, str]]:
    """Each social reply's delivery on the ticket page: its state and what it says."""
    html = client.get(f"/tickets/{ticket}").text
    return [
        (state, " ".join(re.sub(r"<[^>]+>", " ", text).split()))
        for state, text in re.findall(
            r'data-testid="social-delivery" data-state="(\w+)">(.*?)</div>', html, re.S
        )
    ]


def test_ticket_page_shows_the_limit_and_each_reply_s_delivery_state(
    db: Session,
    clock: FixedClock,
    live_server: LiveServer,
    sink: tuple[Sink, str],
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    connector, _url = sink
    make_user(db, clock, Role.AGENT, email="ana@opsdesk.test")
    db.commit()
    ticket = send(live_server, clock, post(clock, "p1"), "m1").json()["ticket"]
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        sign_in_http(client, "ana@opsdesk.test")
        shown = client.get(f"/tickets/{ticket}").text
        assert 'data-social-limit="40"' in shown and 'data-testid="social-remaining">40<' in shown
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown)
        assert csrf is not None

        def reply(body: str, kind: str = "reply") -> httpx.Response:
            form = {"csrf_token": csrf.group(1), "body": body, "kind": kind}
            return client.post(f"/tickets/{ticket}/messages", data=form)

        over = reply("é" * 41)  # characters, not bytes: 41 is one over
        assert over.status_code == 422 and "body: 41 characters is over twitter" in over.text
        assert reply("é" * 40).status_code == 303
        assert reply("y" * 60, kind="note").status_code == 303  # a note goes nowhere: no limit
        assert page_state(client, ticket) == [("queued", "To twitter (public reply to @alice): queued")]
        connector.statuses = [503]
        send_pending_social(session_factory, clock=clock, settings=settings)
        ((state, text),) = page_state(client, ticket)
        assert state == "retrying"
        assert "attempt 1 of 6 failed: the connector answered 503; next try" in text
        clock.advance(BACKOFF[0])
        assert send_pending_social(session_factory, clock=clock, settings=settings) == 1
        ((state, text),) = page_state(client, ticket)
        assert state == "sent" and "after 2 attempts" in text
        # A private message has no public limit; a refusal no retry changes fails it at once.
        send(live_server, clock, post(clock, "d1", public=False, in_reply_to_id="out-2", text="DM"), "m2")
        assert "data-social-limit" not in client.get(f"/tickets/{ticket}").text
        assert reply("z" * 60).status_code == 303
        connector.statuses = [422]
        send_pending_social(session_factory, clock=clock, settings=settings)
        states = page_state(client, ticket)
        assert [s for s, _ in states] == ["sent", "failed"]
        assert states[1][1] == (
            "To twitter (private message to @alice): failed after 1 attempt: the connector answered 422"
        )
    db.rollback()
    stored = db.scalars(select(Message).where(Message.ticket_id == ticket, Message.public.is_(True))).all()
    assert "é" * 41 not in [m.body_text for m in stored]  # the refused reply stored nothing
