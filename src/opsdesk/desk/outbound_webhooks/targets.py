"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses, so a
subscription cannot make the server call its own loopback, the private network or a cloud metadata
address (SSRF). Checked when a subscription is saved and again before every attempt (DNS may change)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from opsdesk.core.errors import ValidationFailed

MAX_URL = 2000


def check_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """The URL if it may be a target; ValidationFailed (field ``url``) saying why not."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise ValidationFailed(f"the URL is longer than {MAX_URL} characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise ValidationFailed(f"the URL is not valid: {exc}", field="url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("the URL must be http:// or https:// with a host", field="url")
    if parts.username or parts.password:
        raise ValidationFailed("put credentials in the secret, not in the URL", field="url")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationFailed("the URL may not contain spaces or control characters", field="url")
    if allow_private or not resolve:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed(f"the host {parts.hostname!r} does not resolve", field="url") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise ValidationFailed(
                f"the host {parts.hostname!r} resolves to a private, loopback or reserved address "
                f"({address}); OPSDESK_WEBHOOK_ALLOW_PRIVATE_TARGETS allows that",
                field="url",
            )
    return url
