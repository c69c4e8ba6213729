"""Signed, expiring links for people who are not signed in (survey answers, opting out).

A token is ``payload.signature``: the payload is URL-safe base64 of compact JSON (the fields the link
is bound to, its purpose and its expiry), the signature an HMAC-SHA256 of purpose and payload under the
application secret. Changing any field, reusing a token for another purpose or using it after its
expiry is refused, so a link for one ticket or one rating cannot be turned into another."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime
from typing import Any

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings

SECRET_FILE = "secret_key"


def app_secret(settings: Settings) -> bytes:
    """``OPSDESK_SECRET_KEY``, else a random key generated once into the data directory (mode 0600),
    so links stay valid across restarts and every process of one install shares it."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process wrote it first: read theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}.{payload}".encode(), hashlib.sha256).digest())


def sign(settings: Settings, purpose: str, fields: dict[str, Any], *, expires: datetime) -> str:
    body = {**fields, "exp": int(expires.timestamp())}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(app_secret(settings), purpose, payload)}"


class BadLink(ValidationFailed):
    """A link that was altered, made for something else, or has expired."""


def verify(settings: Settings, purpose: str, token: str, *, now: datetime) -> dict[str, Any]:
    """The fields a valid token was signed with; :class:`BadLink` for anything else."""
    payload, _, signature = token.partition(".")
    expected = _mac(app_secret(settings), purpose, payload)
    if not signature or not hmac.compare_digest(signature, expected):
        raise BadLink("this link is not valid; use the link in your email as it was sent", field="token")
    try:
        body = json.loads(_unb64(payload))
    except (ValueError, binascii.Error) as exc:
        raise BadLink("this link is not valid", field="token") from exc
    if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
        raise BadLink("this link is not valid", field="token")
    if body["exp"] < now.timestamp():
        raise BadLink("this link has expired", field="token")
    return body
