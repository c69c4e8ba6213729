"""The outbound SMTP server (``OPSDESK_SMTP_URL``): parsing its URL and opening a connection. Shared by
ticket replies (desk) and relationship surveys (success), which must not import each other."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

from opsdesk.core.errors import ValidationFailed


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://host:25``, ``smtp://user:pass@host:587?starttls=1`` or ``smtps://user:pass@host:465``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValidationFailed(
            f"smtp_url must look like smtp://host:port or smtps://user:pass@host:port, not {url!r}",
            field="smtp_url",
        )
    query = parse_qs(parsed.query)
    starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    security = "tls" if parsed.scheme == "smtps" else ("starttls" if starttls else "none")
    try:
        port = parsed.port or (465 if security == "tls" else 587 if starttls else 25)
    except ValueError as exc:
        raise ValidationFailed(f"smtp_url has a bad port: {exc}", field="smtp_url") from exc
    return SmtpTarget(
        host=parsed.hostname,
        port=port,
        security=security,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
    )


def open_smtp(target: SmtpTarget, *, timeout: float = 30) -> smtplib.SMTP:
    if target.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
        if target.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if target.username:
        client.login(target.username, target.password or "")
    return client


class SmtpConnection:
    """One SMTP connection for a run of sends, opened on the first send (a run with nothing to send
    opens none) and closed on leaving the block, politely if the server still answers."""

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target
        self.client: smtplib.SMTP | None = None

    def send(self, mail: EmailMessage, *, from_addr: str, to_addrs: list[str]) -> None:
        if self.client is None:
            self.client = open_smtp(self.target)
        self.client.send_message(mail, from_addr=from_addr, to_addrs=to_addrs)

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
