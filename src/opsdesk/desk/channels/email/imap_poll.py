"""Mail from a mailbox (IMAP) for deployments whose mail lands at a provider rather than our listener.

At-least-once: a mail is marked \\Seen only after its transaction committed, so a crash or a database
failure leaves it unseen for the next poll; receiving it twice is harmless (its Message-ID dedupes).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import InboundResult, Outcome, receive_and_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str
    password: str
    mailbox: str


def parse_imap_url(url: str) -> ImapTarget:
    """``imap://user:pass@host:143/INBOX`` (``?starttls=1`` to upgrade) or ``imaps://user:pass@host/INBOX``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("imap", "imaps") or not parsed.hostname or not parsed.username:
        raise ValidationFailed(
            f"imap_url must look like imaps://user:pass@host:993/INBOX, not {url!r}", field="imap_url"
        )
    starttls = parse_qs(parsed.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    security = "tls" if parsed.scheme == "imaps" else ("starttls" if starttls else "none")
    try:
        port = parsed.port or (993 if security == "tls" else 143)
    except ValueError as exc:
        raise ValidationFailed(f"imap_url has a bad port: {exc}", field="imap_url") from exc
    return ImapTarget(
        host=parsed.hostname,
        port=port,
        security=security,
        username=unquote(parsed.username),
        password=unquote(parsed.password or ""),
        mailbox=unquote(parsed.path.lstrip("/")) or "INBOX",
    )


def _connect(target: ImapTarget, timeout: float) -> imaplib.IMAP4:
    if target.security == "tls":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            target.host, target.port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
    else:
        client = imaplib.IMAP4(target.host, target.port, timeout=timeout)
        if target.security == "starttls":
            client.starttls(ssl_context=ssl.create_default_context())
    client.login(target.username, target.password)
    return client


def _fetched_bytes(data: list[object]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def poll_imap(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    clock: Clock,
    store: AttachmentStore,
    limit: int = 200,
    timeout: float = 60,
) -> list[InboundResult]:
    """Receive the mailbox's unseen mail (at most ``limit``); returns one result per mail filed."""
    if not settings.imap_url:
        return []
    target = parse_imap_url(settings.imap_url)
    results: list[InboundResult] = []
    client = _connect(target, timeout)
    try:
        status, _ = client.select(_quoted(target.mailbox))
        if status != "OK":
            raise ValidationFailed(f"mailbox {target.mailbox!r} cannot be opened", field="imap_url")
        status, found = client.uid("SEARCH", "UNSEEN")
        uids = found[0].split() if status == "OK" and found and isinstance(found[0], bytes) else []
        for uid in uids[:limit]:
            status, data = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            raw = _fetched_bytes(list(data)) if status == "OK" else None
            if raw is None:
                log.warning("IMAP message %s could not be fetched; leaving it for the next poll", uid)
                continue
            try:
                result = receive_and_commit(
                    session_factory, raw=raw, clock=clock, store=store, settings=settings
                )
            except SQLAlchemyError:
                log.exception("database error filing IMAP message %s; it stays unseen for the next poll", uid)
                break
            if result.outcome is Outcome.MALFORMED:
                log.warning("IMAP message %s is not a readable mail: %s", uid, result.reason)
            client.uid("STORE", uid.decode(), "+FLAGS", "(\\Seen)")
            results.append(result)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            client.shutdown()
    return results


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
