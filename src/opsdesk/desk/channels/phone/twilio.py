"""Twilio Voice status callbacks: their signature and their mapping onto our call events.

Twilio signs a callback with ``X-Twilio-Signature``: base64 of HMAC-SHA1, keyed by the account's auth
token, over the full URL it requested followed by every POST parameter, sorted by name, as name then
value with nothing between. Behind a proxy the URL Twilio used is not the one we see, so the public
base URL is a setting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from opsdesk.core.errors import SignatureRejected, ValidationFailed
from opsdesk.desk.channels.phone.actions import PhoneEvent
from opsdesk.desk.channels.phone.calls import CallEvent
from opsdesk.desk.channels.webhooks import check_timestamp

PROVIDER = "twilio"

# CallStatus -> our event. "completed" before an answer is an abandon; the state machine decides.
STATUS_EVENTS = {
    "initiated": CallEvent.RINGING,
    "queued": CallEvent.QUEUED,
    "ringing": CallEvent.RINGING,
    "in-progress": CallEvent.ANSWERED,
    "completed": CallEvent.ENDED,
    "busy": CallEvent.ABANDONED,
    "no-answer": CallEvent.ABANDONED,
    "canceled": CallEvent.ABANDONED,
    "failed": CallEvent.ABANDONED,
}


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a form POST of ``params`` to ``url``."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def verify(auth_token: str, url: str, params: Sequence[tuple[str, str]], offered: str | None) -> None:
    if not auth_token:
        raise SignatureRejected("no Twilio auth token is configured, so nothing is accepted")
    if not offered:
        raise SignatureRejected("the X-Twilio-Signature header is missing", field="X-Twilio-Signature")
    if not hmac.compare_digest(signature(auth_token, url, params).encode(), offered.strip().encode()):
        raise SignatureRejected("the X-Twilio-Signature does not match", field="X-Twilio-Signature")


def _one(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise ValidationFailed(f"{name} is required", field=name)
    if len(value) > 200 or "\x00" in value:
        raise ValidationFailed(f"{name} is not valid", field=name)
    return value


def _url(params: dict[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if not value.startswith(("https://", "http://")) or len(value) > 2000:
        raise ValidationFailed(f"{name} must be an http(s) URL", field=name)
    return value


def sent_at(params: dict[str, str], *, now: datetime, tolerance: timedelta) -> datetime:
    """The callback's ``Timestamp`` (RFC 2822), which must be within the tolerance; absent, now."""
    raw = params.get("Timestamp", "").strip()
    if not raw:
        return now
    try:
        at = parsedate_to_datetime(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Timestamp is not an RFC 2822 date", field="Timestamp") from exc
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    check_timestamp(at, now=now, tolerance=tolerance, field="Timestamp")
    return at


def event_id(params: dict[str, str], idempotency_token: str | None) -> str:
    """Twilio's idempotency token when it sends one; else the call, its status and sequence."""
    if idempotency_token and idempotency_token.strip():
        return idempotency_token.strip()[:200]
    sequence = params.get("SequenceNumber") or params.get("Timestamp") or ""
    return f"{_one(params, 'CallSid')}:{_one(params, 'CallStatus')}:{sequence}"[:200]


def to_event(params: dict[str, str], *, at: datetime, queue: str | None) -> PhoneEvent:
    status = _one(params, "CallStatus").lower()
    if status not in STATUS_EVENTS:
        raise ValidationFailed(f"unknown CallStatus {status!r}", field="CallStatus")
    return PhoneEvent(
        provider=PROVIDER,
        call_id=_one(params, "CallSid"),
        type=STATUS_EVENTS[status],
        at=at,
        caller=_one(params, "From"),
        queue=queue,
        recording_url=_url(params, "RecordingUrl"),
    )
