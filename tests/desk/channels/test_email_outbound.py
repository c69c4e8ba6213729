from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.jobs import DatabaseQueue, Worker, registry
from opsdesk.core.jobs.models import JobRow
from opsdesk.core.models import IdentityKind, Role, User
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.delivery import MAX_REFERENCES
from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
from opsdesk.desk.channels.email.outbound import (
    BACKOFF,
    MAX_ATTEMPTS,
    SEND_MAIL,
    SmtpTarget,
    parse_smtp_url,
    send_pending,
)
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket
from opsdesk.desk.requesters import find_or_create_requester
from tests.conftest import free_port
from tests.desk.channels.sink import Sink, smtp_sink
from tests.factories import make_user


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:1025", SmtpTarget("127.0.0.1", 1025, "none", None, None)),
        (
            "smtp://user:p%40ss@mail.example:587?starttls=1",
            SmtpTarget("mail.example", 587, "starttls", "user", "p@ss"),
        ),
        ("smtps://u:p@mail.example", SmtpTarget("mail.example", 465, "tls", "u", "p")),
        ("smtp://mail.example", SmtpTarget("mail.example", 25, "none", None, None)),
    ],
)
def test_parse_smtp_url(url: str, expected: SmtpTarget) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://host:notaport"])
def test_bad_smtp_url_names_the_setting(url: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_smtp_url(url)
    assert error.value.field == "smtp_url"


def open_ticket(session: Session, clock: FixedClock, requester: User) -> Ticket:
    return actions.create_ticket(
        session,
        requester=requester,
        subject="Re: Login fails",
        body_text="I cannot log in",
        channel=Channel.EMAIL,
        clock=clock,
        email_message_id="customer-1@acme.example",
    )


def agent_reply(
    session: Session, clock: FixedClock, ticket: Ticket, agent: User, text: str, **kw: object
) -> Message:
    return actions.add_message(
        session,
        ticket=ticket,
        author=agent,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.WEB,
        clock=clock,
        body_text=text,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, sink: Sink) -> Settings:
    return settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})


@pytest.fixture
def ticket_and_agent(session_factory: sessionmaker[Session], clock: FixedClock) -> tuple[int, User]:
    with transaction(session_factory) as session:
        requester = make_user(session, clock, Role.REQUESTER, email="dana@acme.example")
        agent = make_user(session, clock, Role.AGENT, email="agent@opsdesk.test")
        ticket = open_ticket(session, clock, requester)
        return ticket.id, agent


def test_notes_and_requesters_without_an_address_get_no_mail(db: Session, clock: FixedClock) -> None:
    agent = make_user(db, clock, Role.AGENT)
    caller = find_or_create_requester(
        db, kind=IdentityKind.PHONE, value="+1 555 0100", name="Caller", clock=clock
    )
    phone_ticket = actions.create_ticket(
        db, requester=caller, subject="Call", body_text="called", channel=Channel.PHONE, clock=clock
    )
    agent_reply(db, clock, phone_ticket, agent, "answered")
    emailer = make_user(db, clock, Role.REQUESTER, email="dana@acme.example")
    ticket = open_ticket(db, clock, emailer)
    actions.add_message(
        db,
        ticket=ticket,
        author=agent,
        author_kind=AuthorKind.AGENT,
        public=False,
        channel=Channel.WEB,
        clock=clock,
        body_text="internal",
    )
    assert db.scalars(select(OutboundEmail)).all() == []


def test_a_long_thread_keeps_the_first_and_latest_references(db: Session, clock: FixedClock) -> None:
    agent = make_user(db, clock, Role.AGENT)
    requester = make_user(db, clock, Role.REQUESTER, email="dana@acme.example")
    ticket = open_ticket(db, clock, requester)
    for n in range(2, 26):
        actions.add_message(
            db,
            ticket=ticket,
            author=requester,
            author_kind=AuthorKind.REQUESTER,
            public=True,
            channel=Channel.EMAIL,
            clock=clock,
            body_text=f"more {n}",
            email_message_id=f"customer-{n}@acme.example",
        )
    agent_reply(db, clock, ticket, agent, "sent earlier", email_message_id="agent-1@opsdesk.test")
    agent_reply(db, clock, ticket, agent, "the answer")
    latest = db.scalars(select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    assert latest is not None
    chain = [f"customer-{n}@acme.example" for n in range(1, 26)] + ["agent-1@opsdesk.test"]
    assert len(chain) > MAX_REFERENCES
    kept = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    assert latest.references == " ".join(f"<{mid}>" for mid in kept)
    assert latest.in_reply_to == "customer-25@acme.example"  # the customer's latest, not our own mail
    assert latest.subject == f"Re: Login fails [#{ticket.id}]"
    assert (latest.to, latest.cc, latest.status, latest.attempts) == (
        "dana@acme.example",
        [],
        OutboundStatus.PENDING,
        0,
    )
    assert latest.next_attempt_at == latest.created_at == clock.now()
    assert latest.rfc_message_id is None and latest.last_error is None and latest.sent_at is None


def test_replies_chain_their_references(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    for text in ("first answer", "second answer"):
        with transaction(session_factory) as session:
            agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, text)
        assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    first, second = sink.messages()
    assert first["Subject"] == second["Subject"] == f"Re: Login fails [#{ticket_id}]"
    assert first["In-Reply-To"] == second["In-Reply-To"] == "<customer-1@acme.example>"
    assert first["References"] == "<customer-1@acme.example>"
    assert second["References"].split() == ["<customer-1@acme.example>", first["Message-ID"]]
    assert first["Message-ID"] != second["Message-ID"]
    assert first["From"] == f"{agent.name} <support@opsdesk.test>"
    stored = {m.email_message_id for m in db.get_one(Ticket, ticket_id).messages}
    assert {first["Message-ID"].strip("<>"), second["Message-ID"].strip("<>")} <= stored


def test_agent_attachments_travel_with_the_reply(
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    store = AttachmentStore.from_settings(mail_settings)
    with transaction(session_factory) as session:
        agent_reply(
            session,
            clock,
            session.get_one(Ticket, ticket_id),
            agent,
            "see attached",
            store=store,
            attachments=[NewAttachment("steps.pdf", "application/pdf", b"%PDF-1.7 steps")],
        )
    send_pending(session_factory, clock=clock, settings=mail_settings)
    [reply] = sink.messages()
    [part] = list(reply.iter_attachments())
    assert part.get_filename() == "steps.pdf" and part.get_content() == b"%PDF-1.7 steps"


def test_unreachable_server_is_retried_with_backoff_keeping_the_message_id(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    with transaction(session_factory) as session:
        agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, "hello")
    down = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    assert send_pending(session_factory, clock=clock, settings=down) == 0
    row = db.scalars(select(OutboundEmail)).one()
    assert row.status is OutboundStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == clock.now() + BACKOFF[0]
    assert row.last_error and "Connection" in row.last_error
    first_id = row.rfc_message_id
    assert first_id is not None

    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 0  # not due yet
    clock.advance(BACKOFF[0])
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    db.expire_all()
    assert row.status is OutboundStatus.SENT and row.attempts == 2
    assert sink.messages()[0]["Message-ID"] == f"<{first_id}>"


def test_gives_up_after_the_last_attempt(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    with transaction(session_factory) as session:
        agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, "hello")
    down = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    for delay in BACKOFF:
        send_pending(session_factory, clock=clock, settings=down)
        clock.advance(delay)
    send_pending(session_factory, clock=clock, settings=down)
    row = db.scalars(select(OutboundEmail)).one()
    assert row.attempts == MAX_ATTEMPTS and row.status is OutboundStatus.FAILED


class RefusingRecipients:
    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return "550 5.1.1 No such user"


def test_permanent_refusal_fails_at_once(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    with transaction(session_factory) as session:
        agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, "hello")
    port = free_port()
    controller = Controller(RefusingRecipients(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        refusing = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
        assert send_pending(session_factory, clock=clock, settings=refusing) == 0
    finally:
        controller.stop()
    row = db.scalars(select(OutboundEmail)).one()
    assert row.status is OutboundStatus.FAILED and row.attempts == 1
    assert row.last_error and "No such user" in row.last_error


def test_concurrent_runs_send_each_reply_once(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    with transaction(session_factory) as session:
        for n in range(6):
            agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, f"reply {n}")
    totals: list[int] = []
    runs = [
        threading.Thread(
            target=lambda: totals.append(send_pending(session_factory, clock=clock, settings=mail_settings))
        )
        for _ in range(3)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(totals) == 6
    ids = [m["Message-ID"] for m in sink.messages()]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert {r.status for r in db.scalars(select(OutboundEmail))} == {OutboundStatus.SENT}


def test_no_smtp_url_leaves_the_queue_alone(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    with transaction(session_factory) as session:
        agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, "hello")
    assert send_pending(session_factory, clock=clock, settings=settings) == 0
    row = db.scalars(select(OutboundEmail)).one()
    assert row.status is OutboundStatus.PENDING and row.attempts == 0


def test_a_reply_enqueues_the_send_job_and_a_worker_sends_it(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    load_job_modules()
    ticket_id, agent = ticket_and_agent
    with transaction(session_factory) as session:
        agent_reply(session, clock, session.get_one(Ticket, ticket_id), agent, "queued")
    assert db.scalars(select(JobRow.name)).all() == [SEND_MAIL]
    worker = Worker(
        DatabaseQueue(session_factory, clock),
        session_factory=session_factory,
        clock=clock,
        settings=mail_settings,
    )
    assert worker.drain() == 1
    assert len(sink.received) == 1
    periodic = {p.name for p in registry.enabled_periodics(mail_settings)}
    assert SEND_MAIL in periodic and "desk.poll_mail" not in periodic


def test_a_reply_whose_attachment_left_the_store_fails_without_blocking_others(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    ticket_and_agent: tuple[int, User],
) -> None:
    ticket_id, agent = ticket_and_agent
    store = AttachmentStore.from_settings(mail_settings)
    with transaction(session_factory) as session:
        ticket = session.get_one(Ticket, ticket_id)
        broken = agent_reply(
            session,
            clock,
            ticket,
            agent,
            "attached",
            store=store,
            attachments=[NewAttachment("gone.pdf", "application/pdf", b"%PDF soon deleted")],
        )
        agent_reply(session, clock, ticket, agent, "plain follow-up")
        key = broken.attachments[0].storage_key
    (store.root / key).unlink()
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    rows = db.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()
    assert [r.status for r in rows] == [OutboundStatus.FAILED, OutboundStatus.SENT]
    assert rows[0].last_error is not None and "missing" in rows[0].last_error
