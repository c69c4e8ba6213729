"""An SMTP server that files each delivered mail straight into the desk (no mailbox in between).

Replies follow what a sending MTA does with them: 250 once the mail is committed (or recognised as a
duplicate or machine mail, which are dropped silently: bouncing those is how loops start), 550 for mail
that cannot be read, 552 for mail over the size limit, and 451 when our database is failing, so the
sender keeps the mail and retries later rather than it being lost.

With a certificate and key configured the listener offers STARTTLS, so a sending MTA encrypts the mail
(customers' words, attachments, sometimes health data) on its way in; ``smtp_listener_require_starttls``
refuses senders that do not upgrade (off by default: some MTAs still send in the clear, and
refusing them would lose their customers' mail).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock, SystemClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import (
    InboundResult,
    Outcome,
    listener_size_limit,
    receive_and_commit,
)
from opsdesk.desk.channels.email.outbound import support_domain

log = logging.getLogger(__name__)


class DeskSMTP(SMTP):
    """aiosmtpd's SMTP with RFC 5321's 1,000-octet line limit lifted to the message size limit: real
    servers (Postfix, Exchange) accept longer lines, and senders that emit them (HTML on one line) would
    otherwise get "500 Line too long" on every retry. Memory stays bounded by the SIZE limit."""

    def __init__(self, handler: object, *, data_size_limit: int, **kwargs: object) -> None:
        self.line_length_limit = max(data_size_limit, SMTP.line_length_limit)
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)  # type: ignore[arg-type]


class DeskHandler:
    """aiosmtpd handler: recipients on our domain only, each DATA in its own transaction."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock,
        settings: Settings,
        store: AttachmentStore,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.settings = settings
        self.store = store
        self.domain = support_domain(settings)

    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        # Not a relay: only mail for our own domain is accepted.
        if address.rsplit("@", 1)[-1].lower() != self.domain:
            return "550 5.7.1 Relaying denied: this server only accepts mail for " + self.domain
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        # What a delivering MTA records: the envelope sender, empty ("<>") for bounces.
        raw = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode() + raw
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, self._receive, raw)
        except SQLAlchemyError:
            log.exception("database error while receiving mail; asking the sender to retry")
            return "451 4.3.0 Temporary failure storing the message, please retry"
        except Exception:
            log.exception("unexpected error while receiving mail; asking the sender to retry")
            return "451 4.3.0 Temporary failure processing the message, please retry"
        if result.outcome is Outcome.MALFORMED:
            return f"550 5.6.0 Message not accepted: {result.reason}"
        if result.ticket_id is not None:
            return f"250 2.0.0 OK ticket #{result.ticket_id} ({result.outcome.value})"
        return f"250 2.0.0 OK ({result.outcome.value})"

    def _receive(self, raw: bytes) -> InboundResult:
        return receive_and_commit(
            self.session_factory, raw=raw, clock=self.clock, store=self.store, settings=self.settings
        )


def listener_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server-side TLS context for STARTTLS, or None when no certificate is configured."""
    cert, key = settings.smtp_listener_tls_cert, settings.smtp_listener_tls_key
    if not cert and not key:
        if settings.smtp_listener_require_starttls:
            raise ValidationFailed(
                "smtp_listener_require_starttls needs smtp_listener_tls_cert and smtp_listener_tls_key",
                field="smtp_listener_require_starttls",
            )
        return None
    if not cert or not key:
        missing = "smtp_listener_tls_key" if cert else "smtp_listener_tls_cert"
        raise ValidationFailed(
            f"STARTTLS needs both the certificate and the key; set {missing}", field=missing
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=cert, keyfile=key)
    except (OSError, ssl.SSLError) as exc:
        raise ValidationFailed(
            f"the SMTP listener's certificate or key cannot be loaded: {exc}", field="smtp_listener_tls_cert"
        ) from exc
    return context


class _DeskController(Controller):
    def factory(self) -> SMTP:
        return DeskSMTP(self.handler, **self.SMTP_kwargs)


def start_smtp_listener(
    session_factory: sessionmaker[Session],
    *,
    host: str,
    port: int,
    clock: Clock,
    settings: Settings,
    store: AttachmentStore,
) -> Callable[[], None]:
    """Start listening in a background thread; returns the function that stops it.

    The size limit is announced in EHLO (SIZE) and enforced on DATA with 552; see ``inbound`` for why
    it is twice the attachment limit. STARTTLS is announced when a certificate is configured.
    """
    handler = DeskHandler(session_factory, clock=clock, settings=settings, store=store)
    tls_context = listener_tls_context(settings)
    controller = _DeskController(
        handler,
        hostname=host,
        port=port,
        data_size_limit=listener_size_limit(settings),
        enable_SMTPUTF8=True,  # RFC 6531/6532: UTF-8 addresses and raw UTF-8 headers
        server_hostname=handler.domain,
        ident="OpsDesk",
        tls_context=tls_context,
        require_starttls=tls_context is not None and settings.smtp_listener_require_starttls,
    )
    controller.start()
    return controller.stop


def serve_smtp(settings: Settings, host: str, port: int) -> Callable[[], None]:
    """The listener on the configured database and attachment store with the system clock, as
    ``opsdesk serve --smtp-port`` and ``opsdesk mail listen`` run it; returns its stop function."""
    listener_tls_context(settings)  # a configuration error stops here, before anything is opened
    engine = make_engine(settings.resolved_database_url())
    stop_listener = start_smtp_listener(
        make_session_factory(engine),
        host=host,
        port=port,
        clock=SystemClock(),
        settings=settings,
        store=AttachmentStore.from_settings(settings),
    )

    def stop() -> None:
        stop_listener()
        engine.dispose()

    return stop
