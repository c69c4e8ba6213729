from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import InboundResult, Outcome, receive_and_commit, receive_email
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.channels.email.outbound import send_pending
from opsdesk.desk.models import AuthorKind, Channel, Message, Status, Ticket
from tests.desk.channels.mail import mail
from tests.desk.channels.sink import smtp_sink
from tests.factories import make_user


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_new_mail_opens_a_ticket(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    raw = mail(
        message_id="<first@acme.example>", subject="Re: Printer on fire", html="<p>It <b>is</b> on fire</p>"
    )
    result = receive_email(db, raw=raw, clock=clock, store=store, settings=settings)
    assert result.outcome is Outcome.CREATED
    ticket = db.get_one(Ticket, result.ticket_id)
    assert ticket.subject == "Printer on fire"
    assert ticket.channel is Channel.EMAIL
    assert ticket.requester.email == "dana@acme.example"
    assert ticket.requester.name == "Dana Customer"
    [message] = ticket.messages
    assert message.email_message_id == "first@acme.example"
    assert message.author_kind is AuthorKind.REQUESTER
    assert message.body_text == "It is on fire."
    assert result.auto_reply_allowed


def test_same_message_id_twice_creates_nothing_new(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    store: AttachmentStore,
    settings: Settings,
) -> None:
    raw = mail(message_id="<twice@acme.example>")
    first = receive_and_commit(session_factory, raw=raw, clock=clock, store=store, settings=settings)
    second = receive_and_commit(session_factory, raw=raw, clock=clock, store=store, settings=settings)
    assert first.outcome is Outcome.CREATED
    assert second.outcome is Outcome.DUPLICATE
    assert second.ticket_id == first.ticket_id
    assert count(db, Ticket) == 1
    assert count(db, Message) == 1


def test_reply_lands_on_the_same_ticket_and_reopens_it(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    first = receive_email(
        db, raw=mail(message_id="<m1@acme.example>"), clock=clock, store=store, settings=settings
    )
    ticket = db.get_one(Ticket, first.ticket_id)
    actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=None, clock=clock)
    reply = mail(
        message_id="<m2@acme.example>",
        subject="Re: Printer on fire",
        text="Still burning",
        in_reply_to="<m1@acme.example>",
        references=["<m1@acme.example>"],
    )
    result = receive_email(db, raw=reply, clock=clock, store=store, settings=settings)
    assert result.outcome is Outcome.APPENDED
    assert result.ticket_id == ticket.id
    assert [m.body_text for m in ticket.messages] == ["It is on fire.", "Still burning"]
    assert ticket.status is Status.OPEN


def test_reply_to_a_closed_ticket_starts_a_linked_follow_up(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    first = receive_email(
        db, raw=mail(message_id="<c1@acme.example>"), clock=clock, store=store, settings=settings
    )
    closed = db.get_one(Ticket, first.ticket_id)
    actions.change_status(db, ticket=closed, to=Status.SOLVED, actor=None, clock=clock)
    actions.change_status(db, ticket=closed, to=Status.CLOSED, actor=None, clock=clock)
    clock.advance(timedelta(days=10))
    reply = mail(message_id="<c2@acme.example>", text="It is back", in_reply_to="<c1@acme.example>")
    result = receive_email(db, raw=reply, clock=clock, store=store, settings=settings)
    assert result.outcome is Outcome.FOLLOW_UP
    follow_up = db.get_one(Ticket, result.ticket_id)
    assert follow_up.id != closed.id
    assert follow_up.follow_up_of_id == closed.id
    assert follow_up.messages[0].body_text == "It is back"
    assert closed.status is Status.CLOSED and len(closed.messages) == 1
    assert db.scalar(select(Event).where(Event.type == "follow_up_created", Event.subject_id == follow_up.id))


def test_auto_reply_and_bounce_create_nothing_and_send_nothing(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    ooo = mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    bounce = mail(sender="MAILER-DAEMON@mx.acme.example", subject="Undeliverable")
    for raw in (ooo, bounce):
        result = receive_email(db, raw=raw, clock=clock, store=store, settings=settings)
        assert result.outcome is Outcome.IGNORED
        assert result.ticket_id is None
    assert count(db, Ticket) == 0
    assert count(db, OutboundEmail) == 0
    assert db.scalar(select(func.count()).select_from(Event).where(Event.subject_type == "user")) == 0


def test_malformed_mail_gets_a_clear_outcome(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    result = receive_email(
        db, raw=b"Subject: hi\r\n\r\nno sender\r\n", clock=clock, store=store, settings=settings
    )
    assert result.outcome is Outcome.MALFORMED
    assert result.reason and "sender" in result.reason
    bad_address = receive_email(
        db, raw=mail(sender="someone@localhost"), clock=clock, store=store, settings=settings
    )
    assert bad_address.outcome is Outcome.MALFORMED
    assert count(db, Ticket) == 0


def test_script_tags_in_html_mail_are_stored_sanitised(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    raw = mail(
        text=None, html='<p>Hello<script>steal(document.cookie)</script><img src=x onerror="boom()"></p>'
    )
    result = receive_email(db, raw=raw, clock=clock, store=store, settings=settings)
    message = db.get_one(Message, result.message_id)
    assert "Hello" in message.body_html
    for bad in ("<script", "steal", "onerror", "boom"):
        assert bad not in message.body_html
        assert bad not in message.body_text


def test_attachments_are_stored(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    raw = mail(attachments=[("photo.png", "image/png", b"\x89PNG fake")])
    result = receive_email(db, raw=raw, clock=clock, store=store, settings=settings)
    [attachment] = db.get_one(Message, result.message_id).attachments
    assert attachment.filename == "photo.png"
    assert store.open(attachment.storage_key) == b"\x89PNG fake"


def test_attachment_over_the_limit_is_dropped_with_a_note(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    """The same path with a real 30 MB file over the listener is in test_smtp_roundtrip."""
    small = settings.model_copy(update={"max_attachment_bytes": 1024 * 1024})
    big = bytes(3 * 1024 * 1024 // 2)
    raw = mail(attachments=[("scan.tiff", "image/tiff", big), ("small.txt", "text/plain", b"ok")])
    result = receive_email(db, raw=raw, clock=clock, store=store, settings=small)
    assert result.outcome is Outcome.CREATED
    assert result.dropped_attachments == ("scan.tiff",)
    ticket = db.get_one(Ticket, result.ticket_id)
    customer, note = ticket.messages
    assert [a.filename for a in customer.attachments] == ["small.txt"]
    assert not note.public and note.author_kind is AuthorKind.SYSTEM
    assert "scan.tiff (1.5 MB)" in note.body_text and "1.0 MB limit" in note.body_text


def test_staff_address_writing_in_is_still_a_requester_message(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    """From is forgeable, so inbound mail never speaks as an agent (no agent reply would go out)."""
    agent = make_user(db, clock, Role.AGENT, email="agent@opsdesk.test")
    result = receive_email(
        db, raw=mail(sender=f"A <{agent.email}>"), clock=clock, store=store, settings=settings
    )
    message = db.get_one(Message, result.message_id)
    assert message.author_kind is AuthorKind.REQUESTER
    assert count(db, OutboundEmail) == 0


def test_racing_deliveries_of_one_message_make_one_ticket(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    store: AttachmentStore,
    settings: Settings,
) -> None:
    """Two listener connections deliver the same mail at once: whichever order the database lets them
    finish in, there is one ticket with one message and the later one reports a duplicate."""
    raw = mail(message_id="<race@acme.example>")
    first = session_factory()
    assert (
        receive_email(first, raw=raw, clock=clock, store=store, settings=settings).outcome is Outcome.CREATED
    )
    second: list[InboundResult] = []
    racer = threading.Thread(
        target=lambda: second.append(
            receive_and_commit(session_factory, raw=raw, clock=clock, store=store, settings=settings)
        )
    )
    racer.start()
    racer.join(timeout=0.5)  # give the racer time to pass its duplicate check and block on our writes
    first.commit()
    first.close()
    racer.join()
    assert [r.outcome for r in second] == [Outcome.DUPLICATE]
    assert count(db, Ticket) == 1
    assert count(db, Message) == 1


def dsn(original_headers: bytes, *, diagnostic: str = "550 5.1.1 User unknown") -> bytes:
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n"
        b"To: support@opsdesk.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <dsn-1@mx.acme.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.example\r\n\r\n"
        b"Final-Recipient: rfc822; dana@acme.example\r\nAction: failed\r\n"
        + f"Status: 5.1.1\r\nDiagnostic-Code: smtp; {diagnostic}\r\n".encode()
        + b"\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + original_headers
        + b"\r\n--R--\r\n"
    )


def test_a_bounce_of_our_reply_marks_it_failed_and_tells_the_agent(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    store: AttachmentStore,
    settings: Settings,
) -> None:
    with transaction(session_factory) as session:
        first = receive_email(session, raw=mail(), clock=clock, store=store, settings=settings)
        agent = make_user(session, clock, Role.AGENT)
        actions.add_message(
            session,
            ticket=session.get_one(Ticket, first.ticket_id),
            author=agent,
            author_kind=AuthorKind.AGENT,
            public=True,
            channel=Channel.WEB,
            clock=clock,
            body_text="Here is the fix",
        )
    with smtp_sink() as sink:
        sent_settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})
        assert send_pending(session_factory, clock=clock, settings=sent_settings) == 1
    headers = sink.received[0][2].split(b"\r\n\r\n", 1)[0]
    bounce = dsn(headers)
    for _ in range(2):  # a repeated bounce adds nothing
        with transaction(session_factory) as session:
            result = receive_email(session, raw=bounce, clock=clock, store=store, settings=settings)
        assert result.outcome is Outcome.IGNORED and result.ticket_id == first.ticket_id
    assert count(db, Ticket) == 1
    row = db.scalars(select(OutboundEmail)).one()
    assert row.status is OutboundStatus.FAILED
    assert row.last_error is not None and "550 5.1.1 User unknown" in row.last_error
    notes = [m for m in db.get_one(Ticket, first.ticket_id).messages if not m.public]
    assert len(notes) == 1
    assert notes[0].body_text.startswith("The email reply to dana@acme.example could not be delivered")


def test_a_bounce_naming_none_of_our_replies_changes_nothing(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    bounce = dsn(b"Message-ID: <someone-else@acme.example>\r\n")
    result = receive_email(db, raw=bounce, clock=clock, store=store, settings=settings)
    assert result.outcome is Outcome.IGNORED and result.ticket_id is None
    assert count(db, Message) == 0


def test_a_message_id_reused_by_another_sender_is_not_taken_for_a_replay(
    db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> None:
    """Some mailers mint the same Message-ID for different people's mail; dropping it as a duplicate
    would lose a customer's request without a trace."""
    first = receive_email(db, raw=mail(message_id="<1@mailer>"), clock=clock, store=store, settings=settings)
    other = mail(message_id="<1@mailer>", sender="lee@other.example", subject="Different person")
    second = receive_email(db, raw=other, clock=clock, store=store, settings=settings)
    again = receive_email(db, raw=other, clock=clock, store=store, settings=settings)
    same_sender = receive_email(
        db, raw=mail(message_id="<1@mailer>"), clock=clock, store=store, settings=settings
    )
    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.CREATED)
    assert second.ticket_id != first.ticket_id
    assert (again.outcome, again.ticket_id) == (Outcome.DUPLICATE, second.ticket_id)
    assert (same_sender.outcome, same_sender.ticket_id) == (Outcome.DUPLICATE, first.ticket_id)
    assert count(db, Message) == 2
