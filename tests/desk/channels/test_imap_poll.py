from __future__ import annotations

import imaplib
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.imap_poll import ImapTarget, parse_imap_url, poll_imap
from opsdesk.desk.channels.email.inbound import Outcome
from opsdesk.desk.models import Message, Ticket
from tests.desk.channels.fake_imap import Mailbox, fake_imap
from tests.desk.channels.mail import mail


@pytest.fixture
def box() -> Mailbox:
    return Mailbox()


@pytest.fixture
def imap_settings(settings: Settings, box: Mailbox) -> Iterator[Settings]:
    with fake_imap(box) as port:
        yield settings.model_copy(
            update={"imap_url": f"imap://{box.user}:{box.password}@127.0.0.1:{port}/INBOX"}
        )


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_parse_imap_url() -> None:
    assert parse_imap_url("imaps://desk%40acme.example:pw@imap.acme.example/Support") == ImapTarget(
        "imap.acme.example", 993, "tls", "desk@acme.example", "pw", "Support"
    )
    assert parse_imap_url("imap://u:p@host?starttls=1").port == 143
    assert parse_imap_url("imap://u:p@host").mailbox == "INBOX"
    with pytest.raises(ValidationFailed):
        parse_imap_url("imap://host-without-user")


def test_poll_files_unseen_mail_and_marks_it_seen(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    store: AttachmentStore,
    box: Mailbox,
    imap_settings: Settings,
) -> None:
    first = box.deliver(mail(message_id="<i1@acme.example>"))
    reply = box.deliver(mail(message_id="<i2@acme.example>", text="more", in_reply_to="<i1@acme.example>"))
    bounce = box.deliver(mail(sender="MAILER-DAEMON@mx.example", subject="Undeliverable"))
    results = poll_imap(session_factory, settings=imap_settings, clock=clock, store=store)
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.APPENDED, Outcome.IGNORED]
    assert all(box.seen(uid) for uid in (first, reply, bounce))
    assert count(db, Ticket) == 1 and count(db, Message) == 2
    assert not any("FETCH" in c and "PEEK" not in c for c in box.commands)  # fetching never sets \Seen
    assert poll_imap(session_factory, settings=imap_settings, clock=clock, store=store) == []


def test_mail_seen_again_is_not_filed_twice(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    store: AttachmentStore,
    box: Mailbox,
    imap_settings: Settings,
) -> None:
    uid = box.deliver(mail(message_id="<again@acme.example>"))
    poll_imap(session_factory, settings=imap_settings, clock=clock, store=store)
    box.messages[uid][1].clear()  # e.g. someone marked it unread in their mail client
    [result] = poll_imap(session_factory, settings=imap_settings, clock=clock, store=store)
    assert result.outcome is Outcome.DUPLICATE
    assert count(db, Ticket) == 1 and count(db, Message) == 1


def test_mail_stays_unseen_when_the_database_fails(
    clock: FixedClock, store: AttachmentStore, box: Mailbox, imap_settings: Settings
) -> None:
    uid = box.deliver(mail())
    broken = make_session_factory(make_engine("sqlite:////nonexistent-dir/opsdesk.db"))
    assert poll_imap(broken, settings=imap_settings, clock=clock, store=store) == []
    assert not box.seen(uid)


def test_wrong_password_is_an_imap_error(
    session_factory: sessionmaker[Session], clock: FixedClock, store: AttachmentStore, imap_settings: Settings
) -> None:
    wrong = imap_settings.model_copy(
        update={"imap_url": imap_settings.imap_url.replace(":secret@", ":nope@")}
    )
    with pytest.raises(imaplib.IMAP4.error):
        poll_imap(session_factory, settings=wrong, clock=clock, store=store)
