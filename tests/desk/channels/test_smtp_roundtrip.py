"""The whole email loop over real sockets: customer -> our listener -> ticket -> agent reply -> our
outbound queue -> an SMTP sink (the customer's MX) -> the customer's reply back to the listener."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.utils import make_msgid

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine, make_session_factory, transaction
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.channels.email.outbound import send_pending
from opsdesk.desk.channels.email.smtp_listener import serve_smtp, start_smtp_listener
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket
from tests.conftest import free_port
from tests.desk.channels.mail import mail
from tests.desk.channels.sink import Sink, smtp_sink
from tests.factories import make_user


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, sink: Sink) -> Settings:
    return settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})


@pytest.fixture
def listener(
    session_factory: sessionmaker[Session], clock: FixedClock, mail_settings: Settings, store: AttachmentStore
) -> Iterator[int]:
    port = free_port()
    stop = start_smtp_listener(
        session_factory, host="127.0.0.1", port=port, clock=clock, settings=mail_settings, store=store
    )
    yield port
    stop()


def send(
    port: int, raw: bytes, *, sender: str = "dana@acme.example", to: str = "support@opsdesk.test"
) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, [to], raw)


def count(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_conversation_round_trip(
    listener: int,
    sink: Sink,
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    mail_settings: Settings,
) -> None:
    customer_id = make_msgid(domain="acme.example")
    send(listener, mail(message_id=customer_id, subject="Printer on fire"))
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.subject == "Printer on fire"

    with transaction(session_factory) as session:
        agent = make_user(session, clock, Role.AGENT, email="agent@opsdesk.test")
        actions.add_message(
            session,
            ticket=session.get_one(Ticket, ticket.id),
            author=agent,
            author_kind=AuthorKind.AGENT,
            public=True,
            channel=Channel.WEB,
            clock=clock,
            body_html="<p>Please step away from the printer.</p>",
        )
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 0  # sent once only

    [(envelope_from, rcpts, _raw)] = sink.received
    [reply] = sink.messages()
    assert envelope_from == "support@opsdesk.test" and rcpts == ["dana@acme.example"]
    assert reply["To"] == "dana@acme.example"
    assert reply["Subject"] == f"Re: Printer on fire [#{ticket.id}]"
    assert reply["In-Reply-To"] == customer_id
    assert customer_id in reply["References"]
    our_id = reply["Message-ID"]
    assert our_id.startswith("<opsdesk.") and our_id.endswith("@opsdesk.test>")
    plain = reply.get_body(preferencelist=("plain",))
    assert plain is not None and "Please step away from the printer." in plain.get_content()
    row = db.scalars(select(OutboundEmail)).one()
    assert row.status is OutboundStatus.SENT and row.attempts == 1

    # The customer answers our mail (a new subject line, as some clients do): headers alone thread it.
    answer = mail(
        message_id=make_msgid(domain="acme.example"),
        subject="RE: something else",
        text="Done, thanks",
        in_reply_to=our_id,
        references=[customer_id, our_id],
    )
    send(listener, answer)
    db.expire_all()
    assert count(db, Ticket) == 1
    texts = [m.body_text for m in db.get_one(Ticket, ticket.id).messages]
    assert texts == ["It is on fire.", "Please step away from the printer.", "Done, thanks"]


def test_same_mail_delivered_twice_is_one_ticket_with_one_message(listener: int, db: Session) -> None:
    raw = mail(message_id="<same@acme.example>")
    send(listener, raw)
    send(listener, raw)
    assert count(db, Ticket) == 1
    assert count(db, Message) == 1


def test_auto_reply_over_smtp_creates_and_sends_nothing(
    listener: int,
    sink: Sink,
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    mail_settings: Settings,
) -> None:
    send(listener, mail(subject="Automatic reply: away", headers={"Auto-Submitted": "auto-replied"}))
    send(listener, mail(sender="MAILER-DAEMON@mx.acme.example", subject="Undelivered"), sender="")
    assert count(db, Ticket) == 0
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 0
    assert sink.received == []


def test_malformed_mail_is_refused_with_550(listener: int, db: Session) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(listener, b"Subject: no sender\r\n\r\nbody\r\n")
    assert refused.value.smtp_code == 550
    assert b"sender" in refused.value.smtp_error
    assert count(db, Ticket) == 0


def test_relaying_is_refused(listener: int) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener, mail(), to="someone@elsewhere.example")


def test_30_mb_attachment_over_a_25_mb_limit_is_dropped_with_a_note(
    listener: int, db: Session, mail_settings: Settings
) -> None:
    assert mail_settings.max_attachment_bytes == 25 * 1024 * 1024
    big = bytes(30 * 1024 * 1024)
    send(listener, mail(attachments=[("scan.tiff", "image/tiff", big)]))
    ticket = db.scalars(select(Ticket)).one()
    customer, note = ticket.messages
    assert customer.body_text == "It is on fire." and customer.attachments == []
    assert not note.public and "scan.tiff (30.0 MB)" in note.body_text and "25.0 MB limit" in note.body_text


def test_mail_over_the_listener_limit_gets_552(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    settings: Settings,
    store: AttachmentStore,
) -> None:
    small = settings.model_copy(update={"max_attachment_bytes": 100_000})
    port = free_port()
    stop = start_smtp_listener(
        session_factory, host="127.0.0.1", port=port, clock=clock, settings=small, store=store
    )
    try:
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            send(port, mail(attachments=[("big.bin", "application/octet-stream", bytes(300_000))]))
        assert refused.value.smtp_code == 552  # refused at MAIL FROM (SIZE=) or at the end of DATA
    finally:
        stop()
    assert count(db, Ticket) == 0


def test_database_failure_gets_451_so_the_sender_retries(
    clock: FixedClock, settings: Settings, store: AttachmentStore
) -> None:
    broken = make_session_factory(make_engine("sqlite:////nonexistent-dir/opsdesk.db"))
    port = free_port()
    stop = start_smtp_listener(
        broken, host="127.0.0.1", port=port, clock=clock, settings=settings, store=store
    )
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(port, mail())
        assert refused.value.smtp_code == 451
    finally:
        stop()


def test_serve_smtp_runs_the_listener_on_the_configured_database(
    engine: Engine, settings: Settings, db: Session
) -> None:
    """The entry point `opsdesk serve --smtp-port` and `opsdesk mail listen` use."""
    configured = settings.model_copy(
        update={"database_url": engine.url.render_as_string(hide_password=False)}
    )
    port = free_port()
    stop = serve_smtp(configured, "127.0.0.1", port)
    try:
        send(port, mail(message_id="<served@acme.example>"))
    finally:
        stop()
    assert db.scalars(select(Message.email_message_id)).all() == ["served@acme.example"]


def test_mail_with_a_nul_byte_is_filed_not_deferred(listener: int, db: Session) -> None:
    """A NUL used to reach the database (PostgreSQL refuses it) and answer 451 on every retry."""
    raw = mail(subject="Nul\x00 inside", text="before\x00after")
    send(listener, raw)
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.subject == "Nul inside"
    assert db.scalars(select(Message.body_text)).one().strip() == "beforeafter"


def test_raw_utf8_headers_are_stored_as_written(listener: int, db: Session) -> None:
    """RFC 6532: a client talking SMTPUTF8 sends headers as raw UTF-8, not encoded words."""
    raw = (
        "From: Zoë Müller <zoe@acme.example>\r\nTo: support@opsdesk.test\r\n"
        "Subject: Café crème € 日本語\r\nMessage-ID: <utf8-1@acme.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBonjour\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", listener, timeout=30) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        client.sendmail("zoe@acme.example", ["support@opsdesk.test"], raw, mail_options=["SMTPUTF8"])
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.subject == "Café crème € 日本語"
    assert ticket.requester.name == "Zoë Müller"


def test_lines_longer_than_rfc_5321s_limit_are_accepted(listener: int, db: Session) -> None:
    """Real MTAs accept lines over 1,000 octets (one-line HTML bodies); we used to answer 500."""
    long_line = "word " * 4000  # 20,000 characters, no line break, sent as 8bit (not wrapped)
    raw = (
        "From: dana@acme.example\r\nTo: support@opsdesk.test\r\nSubject: Long line\r\n"
        "Message-ID: <long-1@acme.example>\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n<p>{long_line}</p>\r\n"
    ).encode()
    send(listener, raw)
    body = db.scalars(select(Message.body_text)).one()
    assert body.count("word") == 4000
