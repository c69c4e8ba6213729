"""A subscription's signing secret at rest: encrypted (Fernet) under a key derived from the install's
application secret. Signing needs the secret itself, so it cannot be stored as a one-way hash the way
passwords and API tokens are (core/secrets.py); like a token it is shown once, when it is made, and
afterwards only by its first characters."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.core.signing import app_secret
from opsdesk.desk.channels.webhooks import new_secret, secret_key

HINT_LENGTH = 12


def _fernet(settings: Settings) -> Fernet:
    # A key of its own for this purpose, so the survey-link HMAC key is never used to encrypt.
    digest = hashlib.sha256(b"opsdesk.outbound_webhooks.v1:" + app_secret(settings)).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(settings: Settings, secret: str | None) -> tuple[str, str, str]:
    """(the clear secret, its encryption, its hint): a new ``whsec_`` secret unless one is given."""
    clear = secret or new_secret()
    secret_key(clear)  # refuses what is not whsec_ + base64 of at least 16 bytes
    return clear, _fernet(settings).encrypt(clear.encode()).decode(), clear[:HINT_LENGTH] + "…"


def unseal(settings: Settings, encrypted: str) -> str:
    try:
        return _fernet(settings).decrypt(encrypted.encode()).decode()
    except InvalidToken as exc:
        raise ValidationFailed(
            "the webhook secret cannot be decrypted: OPSDESK_SECRET_KEY changed since it was made; "
            "rotate the subscription's secret",
            field="secret",
        ) from exc
