from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import InboundResult, Outcome, receive_email
from opsdesk.desk.channels.email.threading import strip_subject
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from tests.desk.channels.mail import mail
from tests.factories import make_user

Receive = Callable[[bytes], InboundResult]


@pytest.fixture
def receive(db: Session, clock: FixedClock, store: AttachmentStore, settings: Settings) -> Receive:
    def run(raw: bytes) -> InboundResult:
        return receive_email(db, raw=raw, clock=clock, store=store, settings=settings)

    return run


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: RE: Fwd: Printer [#12]", "Printer"),
        ("AW: Drucker", "Drucker"),
        ("Re[2]: Invoice", "Invoice"),
        ("Relocation question", "Relocation question"),
        ("[#9] ", ""),
    ],
)
def test_strip_subject(subject: str, expected: str) -> None:
    assert strip_subject(subject) == expected


def test_references_alone_thread_the_reply(receive: Receive, db: Session) -> None:
    first = receive(mail(message_id="<t1@acme.example>"))
    second = receive(mail(message_id="<t2@acme.example>", subject="other", references=["<t1@acme.example>"]))
    assert second.outcome is Outcome.APPENDED and second.ticket_id == first.ticket_id


def test_newest_known_reference_decides(receive: Receive) -> None:
    a = receive(mail(message_id="<a@acme.example>", subject="A"))
    b = receive(mail(message_id="<b@acme.example>", subject="B"))
    reply = receive(
        mail(
            message_id="<c@acme.example>",
            references=["<a@acme.example>", "<unknown@x>", "<b@acme.example>"],
        )
    )
    assert a.ticket_id != b.ticket_id
    assert reply.ticket_id == b.ticket_id


def test_unknown_references_start_a_new_ticket(receive: Receive) -> None:
    first = receive(mail(message_id="<u1@acme.example>"))
    other = receive(mail(message_id="<u2@acme.example>", in_reply_to="<not-ours@acme.example>"))
    assert other.outcome is Outcome.CREATED and other.ticket_id != first.ticket_id


def test_reply_to_a_merged_ticket_goes_to_the_merge_target(
    receive: Receive, db: Session, clock: FixedClock
) -> None:
    source = receive(mail(message_id="<s@acme.example>", subject="dup"))
    target = receive(mail(message_id="<g@acme.example>", subject="main"))
    actions.merge_tickets(
        db,
        source=db.get_one(Ticket, source.ticket_id),
        target=db.get_one(Ticket, target.ticket_id),
        actor=None,
        clock=clock,
    )
    reply = receive(mail(message_id="<r@acme.example>", in_reply_to="<s@acme.example>"))
    assert reply.outcome is Outcome.APPENDED and reply.ticket_id == target.ticket_id


def test_subject_tag_threads_mail_from_the_requester(receive: Receive) -> None:
    first = receive(mail(message_id="<s1@acme.example>"))
    reply = receive(mail(message_id="<s2@acme.example>", subject=f"Re: Printer on fire [#{first.ticket_id}]"))
    assert reply.outcome is Outcome.APPENDED and reply.ticket_id == first.ticket_id


def test_subject_tag_threads_mail_from_a_colleague_in_the_same_organisation(
    receive: Receive, db: Session, clock: FixedClock
) -> None:
    core_actions.create_organisation(db, name="Acme", domain="acme.example", clock=clock)
    first = receive(mail(message_id="<o1@acme.example>", sender="dana@acme.example"))
    reply = receive(
        mail(message_id="<o2@acme.example>", sender="lee@acme.example", subject=f"[#{first.ticket_id}]")
    )
    assert reply.outcome is Outcome.APPENDED and reply.ticket_id == first.ticket_id


def test_subject_tag_from_a_stranger_cannot_inject_into_a_ticket(receive: Receive, db: Session) -> None:
    victim = receive(mail(message_id="<v1@acme.example>", subject="My diagnosis"))
    attack = receive(
        mail(
            message_id="<x1@evil.example>",
            sender="mallory@evil.example",
            subject=f"Re: My diagnosis [#{victim.ticket_id}]",
            text="Please click http://evil.example to re-verify",
        )
    )
    assert attack.outcome is Outcome.CREATED
    assert attack.ticket_id != victim.ticket_id
    assert len(db.get_one(Ticket, victim.ticket_id).messages) == 1
    assert db.get_one(Ticket, attack.ticket_id).subject == "My diagnosis"


def test_subject_tag_of_a_missing_ticket_starts_a_new_one(receive: Receive) -> None:
    result = receive(mail(subject="Re: hello [#999999]"))
    assert result.outcome is Outcome.CREATED


def test_cc_colleague_replying_to_our_reply_is_threaded(
    receive: Receive, db: Session, clock: FixedClock
) -> None:
    """Quoting one of our (random) Message-IDs is enough, whatever the sender: only people our reply
    reached have seen it."""
    first = receive(mail(message_id="<h1@acme.example>"))
    ticket = db.get_one(Ticket, first.ticket_id)
    agent = make_user(db, clock, Role.AGENT)
    ours = "opsdesk.1.2.0123456789abcdef@opsdesk.test"
    actions.add_message(
        db,
        ticket=ticket,
        author=agent,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="answer",
        email_message_id=ours,
    )
    reply = receive(
        mail(message_id="<h2@partner.example>", sender="pat@partner.example", in_reply_to=f"<{ours}>")
    )
    assert reply.outcome is Outcome.APPENDED and reply.ticket_id == ticket.id
    author = ticket.messages[-1].author
    assert author is not None and author.email == "pat@partner.example"


def test_a_stranger_quoting_a_customers_message_id_starts_a_new_ticket(receive: Receive, db: Session) -> None:
    """A customer's Message-ID may be guessable (a timestamp and a host), so it threads only for the
    requester and their organisation."""
    victim = receive(mail(message_id="<20260302090000.4242@mail.acme.example>"))
    attack = receive(
        mail(
            message_id="<x2@evil.example>",
            sender="mallory@evil.example",
            in_reply_to="<20260302090000.4242@mail.acme.example>",
        )
    )
    assert attack.outcome is Outcome.CREATED and attack.ticket_id != victim.ticket_id
    assert len(db.get_one(Ticket, victim.ticket_id).messages) == 1
