"""STARTTLS on our SMTP listener: with a certificate configured a real smtplib client upgrades the
session and its mail becomes a ticket; without one none is offered; required, clear mail is refused."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.smtp_listener import listener_tls_context, start_smtp_listener
from opsdesk.desk.models import Ticket
from tests.conftest import free_port
from tests.desk.channels.mail import mail


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for the loopback address and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@contextmanager
def listening(
    session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings, store: AttachmentStore
) -> Iterator[int]:
    port = free_port()
    stop = start_smtp_listener(
        session_factory, host="127.0.0.1", port=port, clock=clock, settings=settings, store=store
    )
    try:
        yield port
    finally:
        stop()


@pytest.fixture
def tls_settings(settings: Settings, tmp_path: Path) -> Settings:
    cert, key = self_signed(tmp_path)
    return settings.model_copy(
        update={"smtp_listener_tls_cert": str(cert), "smtp_listener_tls_key": str(key)}
    )


def _trusting(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.smtp_listener_tls_cert)
    context.check_hostname = True
    return context


def test_a_client_upgrades_with_starttls_and_its_mail_is_filed(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    tls_settings: Settings,
    store: AttachmentStore,
) -> None:
    with (
        listening(session_factory, clock, tls_settings, store) as port,
        smtplib.SMTP("127.0.0.1", port, timeout=30, local_hostname="mx.acme.example") as client,
    ):
        client.ehlo()
        assert client.has_extn("starttls")
        code, _ = client.starttls(context=_trusting(tls_settings))  # verifies the certificate and name
        assert code == 220
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        client.ehlo()
        client.sendmail("dana@acme.example", ["support@opsdesk.test"], mail(subject="Sent over TLS"))
    assert db.scalars(select(Ticket.subject)).all() == ["Sent over TLS"]


def test_no_certificate_no_starttls_and_required_refuses_clear_mail(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    settings: Settings,
    tls_settings: Settings,
    store: AttachmentStore,
) -> None:
    with (
        listening(session_factory, clock, settings, store) as port,
        smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
    ):
        client.ehlo()
        assert not client.has_extn("starttls")
    required = tls_settings.model_copy(update={"smtp_listener_require_starttls": True})
    with (
        listening(session_factory, clock, required, store) as port,
        smtplib.SMTP("127.0.0.1", port, timeout=30) as client,
    ):
        client.ehlo()
        assert client.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("dana@acme.example", ["support@opsdesk.test"], mail(subject="In the clear"))
        assert refused.value.smtp_code == 530
    assert db.scalars(select(Ticket)).all() == []


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"smtp_listener_tls_cert": "/nonexistent.crt"}, "smtp_listener_tls_key"),
        ({"smtp_listener_tls_key": "/nonexistent.key"}, "smtp_listener_tls_cert"),
        ({"smtp_listener_require_starttls": True}, "smtp_listener_require_starttls"),
        (
            {"smtp_listener_tls_cert": "/nonexistent.crt", "smtp_listener_tls_key": "/x"},
            "smtp_listener_tls_cert",
        ),
    ],
)
def test_a_half_configured_certificate_names_the_setting(
    settings: Settings, update: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        listener_tls_context(settings.model_copy(update=update))
    assert error.value.field == field
