"""The phone webhooks over real HTTP, in OpsDesk's JSON and in Twilio's format: refusals leave no
record, repeats create nothing new, and a call's events become a ticket and ``call_completed``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, IdentityKind, Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.channels.models import WebhookReceipt
from opsdesk.desk.channels.phone.actions import complete_due_wrap_ups
from opsdesk.desk.channels.phone.models import Call
from opsdesk.desk.models import Channel, Message, Ticket
from opsdesk.desk.requesters import find_or_create_requester
from tests.conftest import LiveServer
from tests.desk.channels.signed import PHONE_OLD_SECRET, PHONE_SECRET, PUBLIC_BASE, TWILIO_TOKEN, post_signed
from tests.factories import make_token, make_user

PHONE = "/api/v1/channels/phone/events"
TWILIO = "/api/v1/channels/phone/twilio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret",
        phone_webhook_secret=f"{PHONE_SECRET} {PHONE_OLD_SECRET}",
        twilio_auth_token=TWILIO_TOKEN,
        public_url=PUBLIC_BASE,
        phone_wrap_up_seconds=90,
    )


def counts(db: Session) -> dict[str, int]:
    db.rollback()
    return {
        table.__name__: db.scalar(select(func.count()).select_from(table)) or 0
        for table in (Call, Ticket, Message, WebhookReceipt, Event)
    }


def event(clock: FixedClock, type_: str, call_id: str = "call-1", **extra: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "call_id": call_id,
        "at": clock.now().isoformat(),
        "from": "(415) 555-0100",
        **extra,
    }


def send(live_server: LiveServer, clock: FixedClock, payload: dict[str, Any] | bytes, msg_id: str, **kw: Any):  # type: ignore[no-untyped-def]
    with live_server.client() as client:
        return post_signed(
            client, PHONE, payload, secret=kw.pop("secret", PHONE_SECRET), msg_id=msg_id, clock=clock, **kw
        )


def test_refusals_leave_no_record(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    before = counts(db)
    ringing = event(clock, "ringing")
    wrong = send(live_server, clock, ringing, "m1", secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    assert wrong.status_code == 401 and wrong.json()["error"]["field"] == "webhook-signature"
    stale = send(live_server, clock, ringing, "m1", skew_s=-301)
    assert stale.status_code == 401 and stale.json()["error"]["field"] == "webhook-timestamp"
    early = send(live_server, clock, ringing, "m1", skew_s=301)
    assert early.status_code == 401
    for bad in (
        b"{not json",
        b'{"type": "ringing"}',
        b'{"type":"exploded","call_id":"x","at":"2026-03-02T09:00:00Z","from":"+14155550100"}',
    ):
        malformed = send(live_server, clock, bad, "m2")
        assert malformed.status_code == 422, malformed.text
    bad_number = send(live_server, clock, event(clock, "ringing", **{"from": "call me"}), "m3")
    assert bad_number.status_code == 422 and bad_number.json()["error"]["field"] == "from"
    assert counts(db) == before
    # A valid delivery, then its id replayed with another body: refused, nothing added.
    assert send(live_server, clock, ringing, "m4").status_code == 200
    after_first = counts(db)
    replayed = send(live_server, clock, event(clock, "answered"), "m4")
    assert replayed.status_code == 409
    assert counts(db) == after_first
    # The old secret still works during a rotation.
    assert send(live_server, clock, event(clock, "queued"), "m5", secret=PHONE_OLD_SECRET).status_code == 200


def test_a_valid_event_delivered_twice_creates_nothing_new(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    answered = event(clock, "answered")
    first = send(live_server, clock, answered, "m1")
    assert first.status_code == 200 and first.json()["duplicate"] is False
    ticket = first.json()["ticket"]
    once = counts(db)
    again = send(live_server, clock, answered, "m1")  # the provider's retry: same id, same body
    assert again.status_code == 200 and again.json()["duplicate"] is True
    resent = send(live_server, clock, answered, "m1b")  # the same event under a new delivery id
    assert resent.status_code == 200 and resent.json()["ticket"] == ticket
    twice = counts(db)
    assert twice["WebhookReceipt"] == once["WebhookReceipt"] + 1
    assert {k: v for k, v in twice.items() if k != "WebhookReceipt"} == {
        k: v for k, v in once.items() if k != "WebhookReceipt"
    }


def completed(db: Session) -> list[Event]:
    db.rollback()
    return list(db.scalars(select(Event).where(Event.type == "call_completed").order_by(Event.id)))


def test_a_call_becomes_a_ticket_and_ends_with_call_completed(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    agent = make_user(db, clock, Role.AGENT, email="ana@opsdesk.test", password=None)
    db.commit()
    steps = [("ringing", 0), ("queued", 3), ("answered", 63), ("hold", 100), ("resume", 125), ("ended", 300)]
    for n, (type_, offset) in enumerate(steps):
        extra: dict[str, Any] = (
            {"queue": "billing", "agent_email": "ana@opsdesk.test"} if type_ == "answered" else {}
        )
        if type_ == "ended":
            extra["recording_url"] = "https://media.example.com/rec/1.mp3"
        at = clock.now()
        payload = event(clock, type_, **extra) | {"at": (at + timedelta(seconds=offset)).isoformat()}
        assert send(live_server, clock, payload, f"m{n}").status_code == 200
    assert completed(db) == []  # still in wrap-up
    wrapped = event(clock, "wrap_up_ended") | {"at": (clock.now() + timedelta(seconds=345)).isoformat()}
    assert send(live_server, clock, wrapped, "m-wrap").status_code == 200
    (done,) = completed(db)
    call = db.scalars(select(Call)).one()
    assert call.caller == "+14155550100" and call.agent_id == agent.id
    assert done.subject_type == "ticket" and done.subject_id == call.ticket_id
    assert done.data == {
        "call_id": "call-1",
        "queue": "billing",
        "agent_id": agent.id,
        "wait_s": 60.0,
        "talk_s": 212.0,
        "hold_s": 25.0,
        "wrap_s": 45.0,
        "abandoned": False,
        "voicemail": False,
    }
    ticket = db.get_one(Ticket, call.ticket_id)
    assert ticket.channel is Channel.PHONE
    assert ticket.requester.identities[0].value == "+14155550100"
    note = ticket.messages[-1]
    assert not note.public and "https://media.example.com/rec/1.mp3" in note.body_text


def test_wrap_up_ends_at_the_default_and_a_call_joins_the_open_ticket(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    caller = find_or_create_requester(
        db, kind=IdentityKind.PHONE, value="+1 415 555 0100", name="Pat", clock=clock
    )
    open_ticket = actions.create_ticket(
        db, requester=caller, subject="Billing", body_text="Hi", channel=Channel.EMAIL, clock=clock
    )
    db.commit()
    for n, (type_, offset) in enumerate([("answered", 0), ("ended", 60)]):
        payload = event(clock, type_) | {"at": (clock.now() + timedelta(seconds=offset)).isoformat()}
        response = send(live_server, clock, payload, f"m{n}")
        assert response.json()["ticket"] == open_ticket.id
    clock.advance(timedelta(seconds=60 + 89))
    assert complete_due_wrap_ups(db, clock=clock) == 0
    clock.advance(timedelta(seconds=1))
    assert complete_due_wrap_ups(db, clock=clock) == 1
    db.commit()
    (done,) = completed(db)
    assert done.subject_id == open_ticket.id and done.data["wrap_s"] == 90.0 and done.data["talk_s"] == 60.0
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_an_abandoned_call_is_recorded_with_its_wait_and_a_call_back_ticket(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    send(live_server, clock, event(clock, "queued"), "m1")
    abandoned = event(clock, "abandoned") | {"at": (clock.now() + timedelta(seconds=42)).isoformat()}
    response = send(live_server, clock, abandoned, "m2")
    ticket = db.get_one(Ticket, response.json()["ticket"])
    assert ticket.subject == "Call back +14155550100" and ticket.channel is Channel.PHONE
    (done,) = completed(db)
    assert done.data["abandoned"] is True and done.data["wait_s"] == 42.0 and done.data["talk_s"] == 0.0


def twilio_post(
    live_server: LiveServer,
    params: dict[str, str],
    *,
    query: str = "queue=support",
    token: str = TWILIO_TOKEN,
    headers: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    """Signed with the twilio package's own validator, over the public URL Twilio would have used."""
    path = f"{TWILIO}?{query}" if query else TWILIO
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE + path, params)
    with live_server.client() as client:
        return client.post(
            path,
            content=urlencode(params),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                **(headers or {}),
            },
        )


def twilio_params(clock: FixedClock, status: str, sequence: int, skew_s: int = 0) -> dict[str, str]:
    from email.utils import format_datetime

    return {
        "AccountSid": "AC0000000000000000000000000000000a",
        "CallSid": "CA1111111111111111111111111111111b",
        "From": "+14155550100",
        "To": "+18005550199",
        "Direction": "inbound",
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "Timestamp": format_datetime(clock.now() + timedelta(seconds=skew_s)),
        "ApiVersion": "2010-04-01",
    }


def test_twilio_status_callbacks(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    before = counts(db)
    ringing = twilio_params(clock, "ringing", 0)
    assert twilio_post(live_server, ringing, token="f" * 32).status_code == 401
    tampered = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC_BASE + TWILIO + "?queue=support", ringing
    )
    with live_server.client() as client:  # signed params, another body
        forged = client.post(
            TWILIO + "?queue=support",
            content=urlencode(ringing | {"From": "+14155550999"}),
            headers={"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": tampered},
        )
    assert forged.status_code == 401
    assert twilio_post(live_server, twilio_params(clock, "ringing", 0, skew_s=-400)).status_code == 401
    assert twilio_post(live_server, ringing | {"CallStatus": "exploded"}).status_code == 422
    assert twilio_post(live_server, {k: v for k, v in ringing.items() if k != "CallSid"}).status_code == 422
    assert counts(db) == before

    assert twilio_post(live_server, ringing).status_code == 200
    once = counts(db)
    repeat = twilio_post(live_server, ringing)
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    assert counts(db) == once
    token = {"I-Twilio-Idempotency-Token": "tok-1"}
    assert twilio_post(live_server, twilio_params(clock, "in-progress", 1), headers=token).status_code == 200
    replayed = twilio_post(live_server, twilio_params(clock, "completed", 2), headers=token)
    assert replayed.status_code == 409
    clock.advance(timedelta(seconds=30))
    done = twilio_post(
        live_server, twilio_params(clock, "completed", 2) | {"RecordingUrl": "https://api.twilio.com/rec/RE1"}
    )
    assert done.status_code == 200
    call = db.scalars(select(Call)).one()
    db.refresh(call)
    assert (
        call.provider == "twilio"
        and call.queue == "support"
        and call.recording_url == "https://api.twilio.com/rec/RE1"
    )
    assert call.ticket is not None and call.ended_at is not None and call.state.value == "wrap_up"


def test_the_agent_ends_the_wrap_up(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    agent = make_user(db, clock, Role.AGENT, email="ana@opsdesk.test", password=None)
    customer = make_user(db, clock, Role.REQUESTER, email="pat@example.com", password=None)
    tokens = {"agent": make_token(db, clock, agent), "customer": make_token(db, clock, customer)}
    db.commit()
    for n, (type_, offset) in enumerate([("answered", 0), ("ended", 200)]):
        payload = event(clock, type_) | {"at": (clock.now() + timedelta(seconds=offset)).isoformat()}
        answer = send(live_server, clock, payload, f"m{n}").json()
    call = db.scalars(select(Call)).one()
    assert answer["call"] == call.id
    clock.advance(timedelta(seconds=230))
    with live_server.client(tokens["customer"]) as client:
        assert client.post(f"/api/v1/channels/phone/calls/{call.id}/wrap-up").status_code == 403
    with live_server.client(tokens["agent"]) as client:
        assert client.post("/api/v1/channels/phone/calls/999999/wrap-up").status_code == 404
        done = client.post(f"/api/v1/channels/phone/calls/{call.id}/wrap-up")
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["talk_s"], done.json()["wrap_s"]) == (
            "completed",
            200.0,
            30.0,
        )
        assert client.post(f"/api/v1/channels/phone/calls/{call.id}/wrap-up").status_code == 409
    (completed_event,) = completed(db)
    assert completed_event.data["wrap_s"] == 30.0
