"""Outbound webhooks against a real HTTP receiver on loopback: the signature verifies with the
published Standard Webhooks library, failures are retried with growing delays, exhausted deliveries
become dead letters, and a replay sends them again. Every outcome is committed and read back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Event, Role, User
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Status, Ticket
from opsdesk.desk.outbound_webhooks import actions, queries
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery
from opsdesk.desk.outbound_webhooks.sender import retry_delay, send_due
from opsdesk.desk.outbound_webhooks.targets import check_url
from tests.desk.outbound_webhooks.receiver import Receiver, receiver
from tests.factories import make_user


def verify_by_hand(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The README's independent check of the scheme, with the standard library only."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) <= 300
    return fresh and any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_targets": True, "webhook_max_attempts": 3})


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def _requester(db: Session, clock: FixedClock) -> User:
    return make_user(db, clock, Role.REQUESTER, email="rita@acme.test")


def _ticket(db: Session, clock: FixedClock, requester: User, *, sensitive: bool = False) -> Ticket:
    return desk_actions.create_ticket(
        db,
        requester=requester,
        subject="Lab results for J. Doe" if sensitive else "Printer on fire",
        body_text="See attached.",
        channel=Channel.EMAIL,
        clock=clock,
        sensitive=sensitive,
    )


def _dispatch(session_factory: sessionmaker[Session], clock: FixedClock) -> int:
    with session_factory() as session, session.begin():
        return dispatch(session, clock=clock)


def _one_delivery(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    """A subscription to ticket_created, one new ticket, and its delivery enqueued (not yet sent)."""
    actions.create_subscription(
        db,
        actor=None,
        clock=clock,
        settings=hook_settings,
        name="crm",
        url=hooks.url,
        event_types=["ticket_created"],
    )
    _ticket(db, clock, _requester(db, clock))
    db.commit()
    _dispatch(session_factory, clock)


def test_a_delivery_is_signed_per_standard_webhooks_and_verifies_with_the_published_library(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    made = actions.create_subscription(
        db,
        actor=None,
        clock=clock,
        settings=hook_settings,
        name="crm",
        url=hooks.url,
        event_types=["ticket_created", "status_changed"],
    )
    assert made.secret.startswith("whsec_") and made.subscription.secret_encrypted != made.secret
    ticket = _ticket(db, clock, _requester(db, clock))
    desk_actions.change_status(db, ticket=ticket, to=Status.OPEN, actor=None, clock=clock)
    db.commit()

    assert _dispatch(session_factory, clock) == 2
    assert _dispatch(session_factory, clock) == 0  # the cursor moved: nothing is enqueued twice
    run = send_due(session_factory, clock=clock, settings=hook_settings)
    assert len(run.delivered) == 2 and len(hooks.requests) == 2

    for request in hooks.requests:
        assert verify_by_hand(made.secret, request.headers, request.body)  # as the README shows it
        verified = Webhook(made.secret).verify(request.body, request.headers)
        assert verified["data"]["ticket"]["id"] == ticket.id
        assert request.headers["webhook-signature"].startswith("v1,")
    first = json.loads(hooks.requests[0].body)
    assert first["type"] == "ticket_created" and first["data"]["ticket"]["subject"] == "Printer on fire"
    assert json.loads(hooks.requests[1].body)["data"]["changes"] == {"from": "new", "to": "open"}
    tampered = hooks.requests[0].body.replace(b"Printer", b"Scanner")
    with pytest.raises(Exception, match="signature"):
        Webhook(made.secret).verify(tampered, hooks.requests[0].headers)

    db.expire_all()
    stored = db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.status for d in stored] == [DeliveryStatus.DELIVERED] * 2
    assert [d.attempts for d in stored] == [1, 1]


def test_failures_are_retried_with_exponential_backoff_and_the_same_webhook_id(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    _one_delivery(db, session_factory, clock, hook_settings, hooks)
    hooks.answer(503, 500, 200)
    started = clock.now()

    run = send_due(session_factory, clock=clock, settings=hook_settings, jitter=lambda: 1.0)
    assert run.retrying and not run.delivered
    db.expire_all()
    row = db.scalars(select(WebhookDelivery)).one()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, 503)
    assert row.next_attempt_at == started + timedelta(seconds=30)
    assert send_due(session_factory, clock=clock, settings=hook_settings).retrying == []  # not due yet

    clock.advance(timedelta(seconds=30))
    send_due(session_factory, clock=clock, settings=hook_settings, jitter=lambda: 1.0)
    db.expire_all()
    row = db.scalars(select(WebhookDelivery)).one()
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + timedelta(seconds=60)

    clock.advance(timedelta(seconds=60))
    assert send_due(session_factory, clock=clock, settings=hook_settings).delivered == [row.id]
    assert len({r.headers["webhook-id"] for r in hooks.requests}) == 1 and len(hooks.requests) == 3


def test_backoff_doubles_to_a_cap_and_jitter_stays_within_half_to_full() -> None:
    assert [retry_delay(n, 1.0).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30, 1.0) == timedelta(hours=6)
    assert retry_delay(3, 0.0) == timedelta(seconds=60) and retry_delay(3, 0.5) == timedelta(seconds=90)


def test_exhausted_deliveries_are_dead_letters_and_a_replay_delivers_them(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    _one_delivery(db, session_factory, clock, hook_settings, hooks)
    hooks.answer(500)
    for _ in range(hook_settings.webhook_max_attempts):
        send_due(session_factory, clock=clock, settings=hook_settings)
        clock.advance(timedelta(hours=7))
    db.expire_all()
    dead = queries.deliveries(db, status=DeliveryStatus.DEAD)
    assert len(dead) == 1 and dead[0].attempts == 3 and dead[0].last_status_code == 500
    assert send_due(session_factory, clock=clock, settings=hook_settings).dead == []  # dead is not retried
    assert db.scalars(select(Event.type).where(Event.type == "webhook_dead_lettered")).all()

    hooks.answer(200)
    assert actions.replay(db, actor=None, clock=clock, delivery_ids=[dead[0].id]) == [dead[0].id]
    db.commit()
    assert send_due(session_factory, clock=clock, settings=hook_settings).delivered == [dead[0].id]
    db.expire_all()
    assert queries.deliveries(db, status=DeliveryStatus.DEAD) == []
    assert db.get_one(WebhookDelivery, dead[0].id).status is DeliveryStatus.DELIVERED
    assert len(hooks.requests) == 4
    # The webhooks' own events are never delivered, so a dead letter cannot feed another.
    assert _dispatch(session_factory, clock) == 0


def test_a_sensitive_ticket_sends_ids_and_type_only_unless_the_subscription_is_allowed(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    for name, allowed in (("plain", False), ("clinical", True)):
        actions.create_subscription(
            db,
            actor=None,
            clock=clock,
            settings=hook_settings,
            name=name,
            url=f"{hooks.url}/{name}",
            event_types=["ticket_created", "message_added"],
            allow_sensitive=allowed,
        )
    ticket = _ticket(db, clock, _requester(db, clock), sensitive=True)
    db.commit()
    _dispatch(session_factory, clock)
    send_due(session_factory, clock=clock, settings=hook_settings)
    plain = [r.body for r in hooks.requests if r.path.endswith("/plain")]
    clinical = [r.body for r in hooks.requests if r.path.endswith("/clinical")]
    assert plain and clinical
    for body in plain:
        assert b"Lab results" not in body and b"See attached" not in body
        data = json.loads(body)["data"]
        assert data == {
            "event_id": data["event_id"],
            "subject_type": "ticket",
            "subject_id": ticket.id,
            "sensitive": True,
        }
    assert any(b"Lab results" in body for body in clinical)


def test_an_automation_request_goes_only_to_the_named_subscription_with_the_rule_body(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    for name in ("pager", "crm"):
        actions.create_subscription(
            db,
            actor=None,
            clock=clock,
            settings=hook_settings,
            name=name,
            url=f"{hooks.url}/{name}",
            event_types=["*"] if name == "crm" else ["ticket_created"],
        )
    ticket = _ticket(db, clock, _requester(db, clock))
    db.commit()
    _dispatch(session_factory, clock)  # the creation's events
    body = {"text": "Urgent ticket waiting", "ticket": ticket.id}
    append_event(
        db,
        subject_type="ticket",
        subject_id=ticket.id,
        type="automation_webhook_requested",
        at=clock.now(),
        data={"rule_id": 7, "subscription": "pager", "body": body},
    )
    db.commit()
    assert _dispatch(session_factory, clock) == 1
    db.expire_all()
    request = db.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_type == "automation_webhook_requested")
    ).one()
    assert request.subscription.name == "pager" and json.loads(request.body) == body


def test_private_and_loopback_targets_are_refused_unless_allowed(
    db: Session, clock: FixedClock, settings: Settings
) -> None:
    for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://10.1.2.3/", "http://[::1]/"):
        with pytest.raises(ValidationFailed, match="private, loopback or reserved") as caught:
            actions.create_subscription(
                db, actor=None, clock=clock, settings=settings, name="x", url=url, event_types=["*"]
            )
        assert caught.value.field == "url"
    for url in (
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "/relative",
        "http://[::1",
        "http://h:99999/",
    ):
        with pytest.raises(ValidationFailed):
            check_url(url, allow_private=True)
    assert check_url("http://127.0.0.1:9/x", allow_private=True) == "http://127.0.0.1:9/x"


def test_a_subscription_receives_events_from_its_creation_on(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    requester = _requester(db, clock)
    _ticket(db, clock, requester)
    db.commit()
    actions.create_subscription(
        db,
        actor=None,
        clock=clock,
        settings=hook_settings,
        name="crm",
        url=hooks.url,
        event_types=["ticket_created"],
    )
    later = _ticket(db, clock, requester)
    db.commit()
    assert _dispatch(session_factory, clock) == 1
    db.expire_all()
    assert json.loads(db.scalars(select(WebhookDelivery.body)).one())["data"]["subject_id"] == later.id


def test_the_background_job_dispatches_and_sends_in_one_run(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    hooks: Receiver,
) -> None:
    from opsdesk.core.jobs import JobContext
    from opsdesk.desk.outbound_webhooks import jobs

    actions.create_subscription(
        db, actor=None, clock=clock, settings=hook_settings, name="crm", url=hooks.url, event_types=["*"]
    )
    requester = _requester(db, clock)
    db.commit()
    with session_factory() as session, session.begin():
        dispatch(session, clock=clock)  # the cursor exists, after the user's creation
    for _ in range(3):
        _ticket(db, clock, requester)
    db.commit()
    context = JobContext(session_factory, clock, hook_settings, jobs.WEBHOOKS_JOB, "job-1", 1, None)
    jobs.run_webhooks(context, {})
    created = [json.loads(r.body)["type"] for r in hooks.requests if b'"ticket_created"' in r.body]
    assert len(created) == 3
