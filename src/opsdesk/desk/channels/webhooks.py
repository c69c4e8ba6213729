"""Signed webhooks of the live channels, inbound and outbound: the Standard Webhooks scheme.

A delivery carries ``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature``: a
space-separated list of ``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{raw body}`` keyed by the
decoded ``whsec_`` secret. Several signatures (and several configured secrets) let either side rotate
a secret without downtime. The timestamp bounds how long a captured delivery can be replayed; the
receipt store (:func:`claim_delivery`) refuses it after that within the window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, SignatureRejected, ValidationFailed
from opsdesk.desk.channels.models import WebhookReceipt

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
MAX_ID_LENGTH = 200


def new_secret() -> str:
    """A fresh secret in the scheme's serialisation (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key behind a ``whsec_`` secret; a secret without the prefix is taken as base64 too."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("a webhook secret must be whsec_ followed by base64", field="secret") from exc
    if len(key) < 16:
        raise ValidationFailed("a webhook secret must hold at least 16 bytes", field="secret")
    return key


def split_secrets(configured: str) -> list[str]:
    """The secrets of a setting: several, separated by spaces or commas, while one is rotated."""
    return [s for s in configured.replace(",", " ").split() if s]


def _mac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    return (
        f"{SIGNATURE_VERSION}," + base64.b64encode(_mac(secret_key(secret), msg_id, timestamp, body)).decode()
    )


def signed_headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a delivery, signed with every secret given (the current one and, during a
    rotation, the previous)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
    }


@dataclass(frozen=True)
class Delivery:
    """What a verified delivery told us about itself."""

    event_id: str
    sent_at: datetime


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.title()) or ""
    if not value.strip():
        raise SignatureRejected(f"the {name} header is missing", field=name)
    return value.strip()


def check_timestamp(sent_at: datetime, *, now: datetime, tolerance: timedelta, field: str) -> None:
    if abs(now - sent_at) > tolerance:
        raise SignatureRejected(
            f"the delivery's timestamp is more than {int(tolerance.total_seconds())} s from now", field=field
        )


def verify(
    secrets_: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta,
) -> Delivery:
    """The delivery if one of its signatures matches one of ``secrets_`` and its timestamp is within
    ``tolerance`` of ``now``; :class:`SignatureRejected` otherwise. With no secret configured nothing
    is accepted."""
    if not secrets_:
        raise SignatureRejected("this webhook has no secret configured, so nothing is accepted")
    msg_id = _header(headers, "webhook-id")
    if len(msg_id) > MAX_ID_LENGTH or "." in msg_id or "\x00" in msg_id:
        raise SignatureRejected("the webhook-id is not a valid id", field="webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    if not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
        raise SignatureRejected("the webhook-timestamp is not unix seconds", field="webhook-timestamp")
    timestamp = int(raw_timestamp)
    sent_at = datetime.fromtimestamp(timestamp, tz=now.tzinfo)
    check_timestamp(sent_at, now=now, tolerance=tolerance, field="webhook-timestamp")
    offered = []
    for part in _header(headers, "webhook-signature").split():
        version, _, encoded = part.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            offered.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    for secret in secrets_:
        expected = _mac(secret_key(secret), msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return Delivery(event_id=msg_id, sent_at=sent_at)
    raise SignatureRejected("no signature matches", field="webhook-signature")


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def claim_delivery(session: Session, *, source: str, event_id: str, body: bytes, clock: Clock) -> bool:
    """Record a verified delivery in the caller's transaction. True the first time; False when the same
    id came before with the same body (a sender's retry: the caller does nothing again); Conflict when
    the id came before with another body (a replayed id, refused)."""
    digest = body_digest(body)
    earlier = session.scalar(
        select(WebhookReceipt.body_sha256).where(
            WebhookReceipt.source == source, WebhookReceipt.event_id == event_id
        )
    )
    if earlier is None:
        try:
            with session.begin_nested():
                session.add(
                    WebhookReceipt(
                        source=source, event_id=event_id, body_sha256=digest, received_at=clock.now()
                    )
                )
                session.flush()
            return True
        except IntegrityError:  # a concurrent delivery of the same id won the insert
            earlier = session.scalar(
                select(WebhookReceipt.body_sha256).where(
                    WebhookReceipt.source == source, WebhookReceipt.event_id == event_id
                )
            )
    if earlier == digest:
        return False
    raise Conflict(f"event id {event_id!r} was already used for another delivery", field="webhook-id")
