"""A chat is a ticket with channel chat: numbered messages, resends stored once, its events in the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Event, Identity, IdentityKind, Role
from opsdesk.desk.channels.chat import actions, queries
from opsdesk.desk.channels.chat.metrics import chat_times
from opsdesk.desk.channels.chat.models import ChatEntry, ChatState, Sender
from opsdesk.desk.channels.email.models import OutboundEmail
from opsdesk.desk.models import Channel, Message, Status, Ticket
from tests.desk.channels.chat.helpers import start, visitor_id
from tests.factories import make_user


def _ticket_events(db: Session, ticket_id: int) -> list[Event]:
    return list(
        db.scalars(
            select(Event)
            .where(Event.subject_type == "ticket", Event.subject_id == ticket_id)
            .order_by(Event.id)
        )
    )


def test_a_chat_is_a_chat_ticket_whose_transcript_is_its_messages(db: Session, clock: FixedClock) -> None:
    started = start(db, clock)
    conversation = started.conversation
    ticket = db.get_one(Ticket, conversation.ticket_id)
    assert ticket.channel is Channel.CHAT
    assert [m.body_text for m in ticket.messages] == ["Hello, my card was declined"]
    assert conversation.last_seq == 1
    assert queries.conversation_by_token(db, started.token) is conversation
    assert queries.conversation_by_token(db, started.token + "x") is None
    identity = db.scalar(select(Identity).where(Identity.user_id == ticket.requester_id))
    assert identity is not None and identity.kind is IdentityKind.CHAT
    assert [e.type for e in _ticket_events(db, ticket.id)][-1] == "chat_started"


def test_messages_are_numbered_in_order_and_a_resend_is_stored_once(db: Session, clock: FixedClock) -> None:
    conversation = start(db, clock).conversation
    agent = make_user(db, clock, Role.AGENT)
    visitor = conversation.ticket.requester
    first, new = actions.post_message(
        db,
        conversation=conversation,
        sender=Sender.AGENT,
        author=agent,
        text="Hi, I can help",
        client_id="a-1",
        clock=clock,
    )
    assert new and first.seq == 2
    second, _ = actions.post_message(
        db,
        conversation=conversation,
        sender=Sender.VISITOR,
        author=visitor,
        text="Thanks",
        client_id="c-2",
        clock=clock,
    )
    again, new_again = actions.post_message(
        db,
        conversation=conversation,
        sender=Sender.VISITOR,
        author=visitor,
        text="Thanks",
        client_id="c-2",
        clock=clock,
    )
    db.commit()
    assert (second.seq, again.id, new_again) == (3, second.id, False)
    assert [f["seq"] for f in queries.frames_after(db, conversation.id, 1)] == [2, 3]
    assert [f["text"] for f in queries.frames_after(db, conversation.id, 0)] == [
        "Hello, my card was declined",
        "Hi, I can help",
        "Thanks",
    ]
    assert (
        db.scalar(
            select(Message.id)
            .where(Message.ticket_id == conversation.ticket_id)
            .order_by(Message.id.desc())
            .offset(3)
        )
        is None
    )


def test_agent_replies_go_by_mail_only_once_the_visitor_has_left(db: Session, clock: FixedClock) -> None:
    conversation = start(db, clock, email="ada@newcustomer.example").conversation
    agent = make_user(db, clock, Role.AGENT)
    actions.post_message(
        db,
        conversation=conversation,
        sender=Sender.AGENT,
        author=agent,
        text="Online",
        client_id="a-1",
        clock=clock,
    )
    db.commit()
    assert db.scalar(select(OutboundEmail.id)) is None
    actions.set_visitor_presence(db, conversation=conversation, online=False)
    actions.post_message(
        db,
        conversation=conversation,
        sender=Sender.AGENT,
        author=agent,
        text="Left",
        client_id="a-2",
        clock=clock,
    )
    db.commit()
    sent = db.scalars(select(OutboundEmail)).all()
    assert [row.to for row in sent] == ["ada@newcustomer.example"]


def test_a_known_address_is_not_joined_to_the_visitor_unverified(db: Session, clock: FixedClock) -> None:
    customer = make_user(db, clock, Role.REQUESTER, email="known@customer.example")
    db.commit()
    started = start(db, clock, email="known@customer.example")
    assert started.conversation.ticket.requester_id != customer.id
    assert started.conversation.visitor_email == "known@customer.example"


def test_join_transfer_and_end_are_events_the_chat_times_come_from(db: Session, clock: FixedClock) -> None:
    conversation = start(db, clock).conversation
    first = make_user(db, clock, Role.AGENT, email="first@agents.example")
    second = make_user(db, clock, Role.AGENT, email="second@agents.example")
    clock.advance(timedelta(seconds=30))
    assert actions.join_chat(db, conversation=conversation, agent=first, clock=clock)
    with pytest.raises(Conflict):
        actions.join_chat(db, conversation=conversation, agent=second, clock=clock)
    clock.advance(timedelta(seconds=15))
    actions.post_message(
        db,
        conversation=conversation,
        sender=Sender.AGENT,
        author=first,
        text="Hello",
        client_id="a-1",
        clock=clock,
    )
    actions.transfer_chat(db, conversation=conversation, actor=first, to_agent=second, clock=clock)
    assert conversation.state is ChatState.WAITING and conversation.ticket.assignee_id == second.id
    actions.join_chat(db, conversation=conversation, agent=second, clock=clock)
    clock.advance(timedelta(minutes=5))
    assert actions.end_chat(db, conversation=conversation, by="agent", actor=second, clock=clock)
    assert not actions.end_chat(db, conversation=conversation, by="customer", actor=None, clock=clock)
    db.commit()
    events = _ticket_events(db, conversation.ticket_id)
    chat = [(e.type, e.data) for e in events if e.type.startswith("chat_")]
    assert chat == [
        ("chat_started", {"conversation_id": conversation.id, "language": "en"}),
        ("chat_agent_joined", {"agent_id": first.id}),
        ("chat_transferred", {"from_agent_id": first.id, "to_agent_id": second.id}),
        ("chat_agent_joined", {"agent_id": second.id}),
        ("chat_ended", {"by": "agent"}),
    ]
    times = chat_times((e.type, e.at, e.data) for e in events)
    assert (times.wait_s, times.first_response_s, times.handle_s) == (30.0, 45.0, 315.0)
    assert conversation.ticket.status is Status.SOLVED
    with pytest.raises(Conflict):
        actions.post_message(
            db,
            conversation=conversation,
            sender=Sender.AGENT,
            author=second,
            text="late",
            client_id="a-9",
            clock=clock,
        )


def test_a_resubmitted_pre_chat_form_gives_the_same_chat(db: Session, clock: FixedClock) -> None:
    vid = visitor_id()
    kwargs = dict(
        visitor_id=vid, name="Bo", email=None, language=None, text="Hi", client_id="c-1", clock=clock
    )
    one = actions.start_chat(db, **kwargs)  # type: ignore[arg-type]
    two = actions.start_chat(db, **kwargs)  # type: ignore[arg-type]
    db.commit()
    assert one.conversation.id == two.conversation.id and one.token != two.token
    assert queries.conversation_by_token(db, one.token) is None
    assert db.scalar(select(ChatEntry.seq).where(ChatEntry.conversation_id == one.conversation.id)) == 1


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("name", {"name": " "}),
        ("text", {"text": ""}),
        ("visitor_id", {"visitor_id": "short"}),
        ("email", {"email": "nope"}),
    ],
)
def test_a_bad_pre_chat_form_is_refused_naming_the_field(
    db: Session, clock: FixedClock, field: str, changes: dict[str, str]
) -> None:
    kwargs = dict(
        visitor_id=visitor_id(), name="Bo", email=None, language=None, text="Hi", client_id="c-1", clock=clock
    )
    kwargs.update(changes)
    with pytest.raises(ValidationFailed) as caught:
        actions.start_chat(db, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
