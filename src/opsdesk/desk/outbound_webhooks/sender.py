"""Sending due deliveries: claim (core.outbox: the attempt is counted and the row leased by one
conditional UPDATE), sign per Standard Webhooks, post with no transaction open, record the outcome.
A failure is retried after an exponential delay with jitter; after the configured number of attempts
the delivery is dead, listed with the dead letters until someone replays it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import outbox
from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.settings import Settings
from opsdesk.desk.channels.webhooks import signed_headers
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from opsdesk.desk.outbound_webhooks.secret_store import unseal
from opsdesk.desk.outbound_webhooks.targets import check_url

FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
TIMEOUT_SECONDS = 10.0
BATCH = 100


def retry_delay(attempts: int, jitter: float) -> timedelta:
    """The wait after the ``attempts``-th failure: 30 s doubling up to 6 h, times ``jitter`` in
    [0.5, 1] so that receivers coming back from an outage are not hit by every sender at once."""
    base = min(FIRST_DELAY * 2 ** (attempts - 1), MAX_DELAY)
    return base * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


@dataclass
class SendRun:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    id: int
    url: str
    secret: str
    message_id: str
    body: str


def _claim(session: Session, *, clock: Clock, settings: Settings, limit: int) -> list[_Claimed]:
    now = clock.now()
    due = list(
        session.scalars(
            select(WebhookDelivery.id)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookSubscription.active.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )
    claimed = []
    for row_id in due:
        row = outbox.claim(session, WebhookDelivery, row_id, pending=DeliveryStatus.PENDING, now=now)
        if row is not None:
            sub = row.subscription
            claimed.append(
                _Claimed(row.id, sub.url, unseal(settings, sub.secret_encrypted), row.message_id, row.body)
            )
    return claimed


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def _post(item: _Claimed, client: httpx.Client, settings: Settings) -> _Outcome:
    try:
        check_url(item.url, allow_private=settings.webhook_allow_private_targets)
    except ValidationFailed as exc:
        return _Outcome(False, error=exc.message)
    body = item.body.encode()
    # The signed timestamp is the real time of sending: receivers check it against their own clocks.
    headers = signed_headers([item.secret], item.message_id, int(datetime.now(UTC).timestamp()), body)
    try:
        response = client.post(
            item.url, content=body, headers={**headers, "content-type": "application/json"}
        )
    except httpx.HTTPError as exc:
        return _Outcome(False, error=f"{type(exc).__name__}: {exc}"[:2000])
    if 200 <= response.status_code < 300:
        return _Outcome(True, response.status_code)
    return _Outcome(False, response.status_code, f"the receiver answered {response.status_code}")


def _record(
    session: Session,
    row: WebhookDelivery,
    outcome: _Outcome,
    *,
    clock: Clock,
    settings: Settings,
    jitter: float,
) -> DeliveryStatus:
    now = clock.now()
    row.last_status_code = outcome.status_code
    if outcome.ok:
        row.status, row.delivered_at, row.last_error = DeliveryStatus.DELIVERED, now, None
        return row.status
    row.last_error = outcome.error
    if row.attempts >= settings.webhook_max_attempts:
        row.status, row.dead_at = DeliveryStatus.DEAD, now
        append_event(
            session,
            subject_type="webhook_delivery",
            subject_id=row.id,
            type="webhook_dead_lettered",
            at=now,
            data={"subscription_id": row.subscription_id, "event_id": row.event_id, "attempts": row.attempts},
        )
    else:
        row.next_attempt_at = now + retry_delay(row.attempts, jitter)
    return row.status


def send_due(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    settings: Settings,
    client: httpx.Client | None = None,
    limit: int = BATCH,
    jitter: Callable[[], float] = random.random,
) -> SendRun:
    """Attempt every due delivery once; each outcome commits on its own."""
    run = SendRun()
    with transaction(factory) as session:
        claimed = _claim(session, clock=clock, settings=settings, limit=limit)
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for item in claimed:
            outcome = _post(item, http, settings)
            with transaction(factory) as session:
                row = session.get_one(WebhookDelivery, item.id)
                status = _record(session, row, outcome, clock=clock, settings=settings, jitter=jitter())
            {
                DeliveryStatus.DELIVERED: run.delivered,
                DeliveryStatus.PENDING: run.retrying,
                DeliveryStatus.DEAD: run.dead,
            }[status].append(item.id)
    finally:
        if client is None:
            http.close()
    return run
