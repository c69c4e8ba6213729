"""An inbound mail becomes a ticket, a reply on one, or a follow-up to a closed one — exactly once.

Oversize attachments: a mail whose attachment is over ``settings.max_attachment_bytes`` still becomes
a ticket or message; the attachment is dropped and an internal note on the ticket names it, so the
agent can ask for it another way. Bouncing the whole mail would lose the customer's words over one
file. Only a mail too big to buffer at all (``listener_size_limit``) is refused, with SMTP 552, at
the listener.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.errors import OpsDeskError, ValidationFailed
from opsdesk.core.models import IdentityKind, User
from opsdesk.core.queries import person_by_identity
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.email.bounces import record_bounce
from opsdesk.desk.channels.email.ccs import record_ccs
from opsdesk.desk.channels.email.loops import auto_reply_suppressed, automated_reason, is_bounce
from opsdesk.desk.channels.email.outbound import support_domain
from opsdesk.desk.channels.email.parse import ParsedEmail, ParseFailure, parse_email
from opsdesk.desk.channels.email.quoting import split_reply
from opsdesk.desk.channels.email.sources import keep_source
from opsdesk.desk.channels.email.threading import find_ticket, strip_subject
from opsdesk.desk.models import AuthorKind, Channel, Message, Status, Ticket
from opsdesk.desk.requesters import current_person, find_or_create_requester


class Outcome(enum.StrEnum):
    CREATED = "created"  # a new ticket
    APPENDED = "appended"  # a reply on an existing ticket
    FOLLOW_UP = "follow_up"  # a reply to a closed ticket started a linked one
    DUPLICATE = "duplicate"  # this Message-ID was received before; nothing changed
    IGNORED = "ignored"  # an auto-reply, bounce or loop; nothing created, nothing sent
    MALFORMED = "malformed"  # unreadable as a mail; nothing created


@dataclass(frozen=True)
class InboundResult:
    outcome: Outcome
    ticket_id: int | None = None
    message_id: int | None = None
    reason: str | None = None
    dropped_attachments: tuple[str, ...] = ()
    # False for list mail and the like: a person wrote it, but no automatic answer may go back.
    auto_reply_allowed: bool = False


def listener_size_limit(settings: Settings) -> int:
    """The largest mail accepted at all: room for one maximum attachment after base64 (4/3) plus the
    body and headers, so an attachment just over the limit still reaches the drop-and-note path."""
    return settings.max_attachment_bytes * 2


def _mebibytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _split_attachments(mail: ParsedEmail, limit: int) -> tuple[list[NewAttachment], list[tuple[str, int]]]:
    kept: list[NewAttachment] = []
    dropped: list[tuple[str, int]] = []
    for item in mail.attachments:
        if len(item.data) > limit:
            dropped.append((item.filename, len(item.data)))
        else:
            kept.append(NewAttachment(item.filename, item.content_type, item.data))
    return kept, dropped


def _earlier(session: Session, message_id: str) -> Message | None:
    return session.scalar(select(Message).where(Message.email_message_id == message_id))


def _duplicate_of(earlier: Message) -> InboundResult:
    return InboundResult(
        Outcome.DUPLICATE, ticket_id=earlier.ticket_id, message_id=earlier.id, reason="already received"
    )


def _duplicate(session: Session, message_id: str) -> InboundResult | None:
    earlier = _earlier(session, message_id)
    return _duplicate_of(earlier) if earlier is not None else None


def _same_sender(session: Session, earlier: Message, mail: ParsedEmail) -> bool:
    if earlier.author is None:
        return False
    try:
        person = person_by_identity(session, IdentityKind.EMAIL, mail.from_address)
    except ValidationFailed:
        return False
    return person is not None and current_person(session, earlier.author).id == person.id


def _follow_up(
    session: Session,
    *,
    closed: Ticket,
    sender: User,
    mail: ParsedEmail,
    body_html: str | None,
    body_text: str,
    attachments: list[NewAttachment],
    clock: Clock,
    store: AttachmentStore,
) -> Ticket:
    if sender.id == closed.requester_id:
        return actions.create_follow_up(
            session,
            closed=closed,
            channel=Channel.EMAIL,
            clock=clock,
            body_html=body_html,
            body_text=body_text,
            store=store,
            attachments=attachments,
            email_message_id=mail.message_id,
        )
    # A colleague of the requester wrote: the follow-up is theirs, classified like the closed ticket.
    return actions.create_ticket(
        session,
        requester=sender,
        subject=closed.subject,
        body_html=body_html,
        body_text=body_text,
        channel=Channel.EMAIL,
        clock=clock,
        store=store,
        priority=closed.priority,
        type=closed.type,
        tags=closed.tags,
        group=closed.group,
        sensitive=closed.sensitive,
        email_message_id=mail.message_id,
        attachments=attachments,
        follow_up_of=closed,
    )


def receive_email(
    session: Session, *, raw: bytes, clock: Clock, store: AttachmentStore, settings: Settings
) -> InboundResult:
    """File one raw mail in the caller's transaction. Never raises for bad mail: the outcome says."""
    mail = parse_email(raw)
    if isinstance(mail, ParseFailure):
        return InboundResult(Outcome.MALFORMED, reason=mail.reason)
    machine = automated_reason(mail, our_addresses=frozenset({settings.support_address.lower()}))
    if machine is not None:
        bounced = None
        if is_bounce(mail):
            bounced = record_bounce(session, mail, domain=support_domain(settings), clock=clock)
        if bounced is not None:
            machine = f"{machine}; reported reply {bounced.rfc_message_id} as undeliverable"
        return InboundResult(
            Outcome.IGNORED, ticket_id=bounced.message.ticket_id if bounced else None, reason=machine
        )
    earlier = _earlier(session, mail.message_id)
    if earlier is not None:
        if _same_sender(session, earlier, mail):
            return _duplicate_of(earlier)
        # Some mailers reuse Message-IDs across different people's mail: this is not a replay, so it
        # is filed under an id made unique by its content (a replay of it still dedupes).
        digest = hashlib.sha256(raw).hexdigest()[:16]
        mail = replace(mail, message_id=f"{mail.message_id[:400]}.opsdesk-collision-{digest}")
        duplicate = _duplicate(session, mail.message_id)
        if duplicate is not None:
            return duplicate
    try:
        sender = find_or_create_requester(
            session, kind=IdentityKind.EMAIL, value=mail.from_address, name=mail.from_name, clock=clock
        )
    except ValidationFailed as exc:
        return InboundResult(Outcome.MALFORMED, reason=f"unusable sender address: {exc.message}")
    # Creating a new requester may have waited for a racing delivery of this same mail to commit.
    duplicate = _duplicate(session, mail.message_id)
    if duplicate is not None:
        return duplicate

    limit = min(settings.max_attachment_bytes, store.max_bytes)
    attachments, dropped = _split_attachments(mail, limit)
    body_text = mail.body_text or ("" if attachments else "(empty message)")
    body_html = mail.body_html
    full_text = None
    match = find_ticket(session, mail, sender)
    if match is not None:
        # A reply repeats the conversation below it: the message keeps what is new (as text, since
        # the HTML holds the quote too), the whole text is kept beside it, shown folded.
        reply = split_reply(body_text)
        if reply.trimmed:
            body_text, body_html, full_text = reply.new, None, reply.full
    if match is not None and match.ticket.status is not Status.CLOSED:
        ticket = match.ticket
        message = actions.add_message(
            session,
            ticket=ticket,
            author=sender,
            author_kind=AuthorKind.REQUESTER,
            public=True,
            channel=Channel.EMAIL,
            clock=clock,
            body_html=body_html,
            body_text=body_text,
            store=store,
            attachments=attachments,
            email_message_id=mail.message_id,
        )
        outcome = Outcome.APPENDED
    else:
        if match is not None:
            ticket = _follow_up(
                session,
                closed=match.ticket,
                sender=sender,
                mail=mail,
                body_html=body_html,
                body_text=body_text,
                attachments=attachments,
                clock=clock,
                store=store,
            )
            outcome = Outcome.FOLLOW_UP
        else:
            subject = strip_subject(mail.subject)[: actions.MAX_SUBJECT] or "(no subject)"
            ticket = actions.create_ticket(
                session,
                requester=sender,
                subject=subject,
                channel=Channel.EMAIL,
                clock=clock,
                body_html=body_html,
                body_text=body_text,
                store=store,
                attachments=attachments,
                email_message_id=mail.message_id,
            )
            outcome = Outcome.CREATED
        message = ticket.messages[0]
    # The mail answered: In-Reply-To, else the newest of References (clients that send only those).
    answered = next(iter([*mail.in_reply_to, *reversed(mail.references)]), None)
    keep_source(session, message=message, raw=raw, full_text=full_text, store=store, in_reply_to=answered)
    record_ccs(
        session,
        ticket=ticket,
        sender=sender,
        addresses=[*mail.to, *mail.cc],
        our_addresses=frozenset({settings.support_address.lower()}),
        our_domain=support_domain(settings),
        clock=clock,
    )
    if dropped:
        listing = ", ".join(f"{name} ({_mebibytes(size)})" for name, size in dropped)
        actions.add_message(
            session,
            ticket=ticket,
            author=None,
            author_kind=AuthorKind.SYSTEM,
            public=False,
            channel=Channel.EMAIL,
            clock=clock,
            body_text=(
                f"Attachment(s) dropped from this customer's email because they are over the "
                f"{_mebibytes(limit)} limit: {listing}. "
                "Ask the customer to share them another way."
            ),
        )
    return InboundResult(
        outcome,
        ticket_id=ticket.id,
        message_id=message.id,
        dropped_attachments=tuple(name for name, _size in dropped),
        auto_reply_allowed=auto_reply_suppressed(mail) is None,
    )


def receive_and_commit(
    session_factory: sessionmaker[Session],
    *,
    raw: bytes,
    clock: Clock,
    store: AttachmentStore,
    settings: Settings,
) -> InboundResult:
    """One mail in its own transaction, tried twice.

    Two deliveries of one Message-ID racing each other both pass the duplicate check; the unique
    constraint on the Message-ID stops the second (IntegrityError), or on SQLite its stale snapshot
    cannot write (OperationalError). The replay then finds the first delivery's message. A failure
    that persists propagates, so the listener answers 451 and the poller leaves the mail unseen.
    """
    try:
        return _receive_in_transaction(session_factory, raw=raw, clock=clock, store=store, settings=settings)
    except (IntegrityError, OperationalError):
        return _receive_in_transaction(session_factory, raw=raw, clock=clock, store=store, settings=settings)


def _receive_in_transaction(
    session_factory: sessionmaker[Session],
    *,
    raw: bytes,
    clock: Clock,
    store: AttachmentStore,
    settings: Settings,
) -> InboundResult:
    # A mail the desk refuses (a rule in the ticket actions) is rolled back whole and reported, not
    # raised: raising would make the listener answer 451 and the sender retry it for days.
    try:
        with transaction(session_factory) as session:
            return receive_email(session, raw=raw, clock=clock, store=store, settings=settings)
    except OpsDeskError as exc:
        return InboundResult(Outcome.MALFORMED, reason=exc.message)
