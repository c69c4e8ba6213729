"""Agent replies on social tickets leave through the platform's connector: a webhook signed like the
inbound ones, to the URL configured for the platform, retried with backoff.

Each reply is a ``SocialDelivery`` row whose status the ticket shows. Sending claims a due row with a
conditional update (two runs never both send it), posts it, then records the outcome. A public reply
longer than the platform's limit is failed before any request, with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.jobs import enqueue
from opsdesk.core.settings import Settings, SocialConnector
from opsdesk.desk.channels.social.models import DeliveryStatus, SocialDelivery, SocialPost
from opsdesk.desk.channels.webhooks import signed_headers
from opsdesk.desk.models import Message

SEND_SOCIAL = "desk.send_social"
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=4),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM_LEASE = timedelta(minutes=5)
TIMEOUT_SECONDS = 15.0
# A refusal that no retry will change; anything else (5xx, 408, 429, no answer) is tried again.
PERMANENT = {400, 401, 403, 404, 410, 413, 422}


def queue_social_reply(session: Session, *, message: Message, clock: Clock) -> bool:
    """Queue ``message`` as a reply to the ticket's latest customer post; False when the ticket has no
    post to answer (the caller falls back to email)."""
    if message.id is None:
        session.flush()
    latest = session.scalars(
        select(SocialPost)
        .where(SocialPost.ticket_id == message.ticket_id, SocialPost.from_brand.is_(False))
        .order_by(SocialPost.posted_at.desc(), SocialPost.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return False
    now = clock.now()
    row = SocialDelivery(
        message_id=message.id,
        platform=latest.platform,
        in_reply_to_id=latest.post_id,
        recipient_handle=latest.author_handle,
        public=latest.public,
        text=message.body_text,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    enqueue(session, SEND_SOCIAL, clock=clock, key=f"{SEND_SOCIAL}:{row.id}")
    return True


def _claim(factory: sessionmaker[Session], clock: Clock, limit: int) -> list[int]:
    now = clock.now()
    with transaction(factory) as session:
        due = list(
            session.scalars(
                select(SocialDelivery.id)
                .where(
                    SocialDelivery.status == DeliveryStatus.PENDING,
                    SocialDelivery.next_attempt_at <= now,
                    or_(SocialDelivery.claimed_until.is_(None), SocialDelivery.claimed_until < now),
                )
                .order_by(SocialDelivery.next_attempt_at, SocialDelivery.id)
                .limit(limit)
            )
        )
        claimed = []
        for row_id in due:
            result = session.execute(
                update(SocialDelivery)
                .where(
                    SocialDelivery.id == row_id,
                    SocialDelivery.status == DeliveryStatus.PENDING,
                    or_(SocialDelivery.claimed_until.is_(None), SocialDelivery.claimed_until < now),
                )
                .values(claimed_until=now + CLAIM_LEASE)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.append(row_id)
        return claimed


def _payload(row: SocialDelivery, ticket_id: int) -> bytes:
    return json.dumps(
        {
            "delivery_id": row.id,
            "ticket": ticket_id,
            "platform": row.platform,
            "in_reply_to_id": row.in_reply_to_id,
            "recipient_handle": row.recipient_handle,
            "public": row.public,
            "text": row.text,
        },
        separators=(",", ":"),
    ).encode()


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent (with the platform's id for our post) or an error."""

    sent: bool
    error: str | None = None
    permanent: bool = False
    external_post_id: str | None = None


def _attempt(
    row: SocialDelivery, ticket_id: int, connector: SocialConnector | None, client: httpx.Client, clock: Clock
) -> Outcome:
    """One try, holding no transaction while the connector answers."""
    if connector is None:
        return Outcome(False, f"no connector is configured for {row.platform}", permanent=True)
    if row.public and len(row.text) > connector.max_length:
        return Outcome(
            False,
            f"{len(row.text)} characters is over {row.platform}'s limit of {connector.max_length} "
            "for a public reply",
            permanent=True,
        )
    body = _payload(row, ticket_id)
    headers = signed_headers(
        [connector.secret.get_secret_value()], f"reply_{row.id}", int(clock.now().timestamp()), body
    )
    try:
        response = client.post(
            connector.url, content=body, headers={**headers, "content-type": "application/json"}
        )
    except httpx.HTTPError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    if response.status_code >= 300:
        return Outcome(
            False,
            f"the connector answered {response.status_code}",
            permanent=response.status_code in PERMANENT,
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    external = str(answer["post_id"])[:200] if isinstance(answer, dict) and answer.get("post_id") else None
    return Outcome(True, external_post_id=external)


def _record(session: Session, row: SocialDelivery, ticket_id: int, outcome: Outcome, clock: Clock) -> None:
    row.attempts += 1
    row.claimed_until = None
    if not outcome.sent:
        row.last_error = (outcome.error or "")[:2000]
        if outcome.permanent or row.attempts >= MAX_ATTEMPTS:
            row.status = DeliveryStatus.FAILED
        else:
            row.next_attempt_at = clock.now() + BACKOFF[row.attempts - 1]
        return
    row.status = DeliveryStatus.SENT
    row.sent_at = clock.now()
    row.last_error = None
    row.external_post_id = outcome.external_post_id
    if outcome.external_post_id is not None:  # a customer's reply to our post threads into the ticket
        session.add(
            SocialPost(
                platform=row.platform,
                post_id=outcome.external_post_id,
                in_reply_to_id=row.in_reply_to_id,
                ticket_id=ticket_id,
                message_id=row.message_id,
                author_handle="",
                from_brand=True,
                public=row.public,
                posted_at=clock.now(),
                created_at=clock.now(),
            )
        )


def send_pending_social(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    settings: Settings,
    client: httpx.Client | None = None,
    limit: int = 100,
) -> int:
    """Send every due reply once; the number sent. Each row's outcome commits on its own."""
    sent = 0
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    try:
        for row_id in _claim(factory, clock, limit):
            with transaction(factory, write=False) as session:
                row = session.get_one(SocialDelivery, row_id)
                ticket_id = session.get_one(Message, row.message_id).ticket_id
                session.expunge(row)
            outcome = _attempt(row, ticket_id, settings.social_connectors.get(row.platform), http, clock)
            with transaction(factory) as session:
                _record(session, session.get_one(SocialDelivery, row_id), ticket_id, outcome, clock)
            sent += outcome.sent
    finally:
        if own_client:
            http.close()
    return sent
