"""Signing helpers for the live channels' webhook tests: deliveries as a provider would send them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from opsdesk.core.clock import Clock
from opsdesk.desk.channels.webhooks import signed_headers

PHONE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PHONE_OLD_SECRET = "whsec_b2xkIHNlY3JldCBrZXB0IGR1cmluZyByb3RhdGlvbg=="
SOCIAL_SECRET = "whsec_c29jaWFsIHdlYmhvb2sgc2VjcmV0IGZvciB0ZXN0cw=="
TWILIO_TOKEN = "12345678901234567890123456789012"
PUBLIC_BASE = "https://desk.example.com"


def post_signed(
    client: httpx.Client,
    path: str,
    payload: dict[str, Any] | bytes,
    *,
    secret: str,
    msg_id: str,
    clock: Clock,
    skew_s: int = 0,
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = int(clock.now().timestamp()) + skew_s
    headers = signed_headers([secret], msg_id, timestamp, body)
    headers["content-type"] = "application/json"
    return client.post(path, content=body, headers=headers)
