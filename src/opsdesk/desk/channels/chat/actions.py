"""Every write of a chat: start, messages (numbered, stored once), join, transfer, end, presence, read.

Each runs in the caller's transaction and appends the chat's events to the ticket's log, from which
wait, first-response and handle times are computed (see ``metrics``)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from opsdesk.core.actions import add_identity
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event, new_event, write_events
from opsdesk.core.models import Group, IdentityKind, User
from opsdesk.core.queries import person_by_identity
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.actions import MAX_SUBJECT
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.chat.models import ChatConversation, ChatEntry, ChatState, Sender
from opsdesk.desk.channels.chat.protocol import CLIENT_ID, MAX_TEXT
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from opsdesk.desk.requesters import find_or_create_requester
from opsdesk.desk.take_over import take_over

MAX_NAME = 200
VISITOR_ID_MAX = 64


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    conversation: ChatConversation
    token: str  # shown to the visitor once; only its hash is stored


def _clean(value: str | None, field: str, limit: int) -> str:
    value = " ".join((value or "").replace("\x00", " ").split())
    if len(value) > limit:
        raise ValidationFailed(f"{field} is longer than {limit} characters", field=field)
    return value


def visitor_person(session: Session, *, visitor_id: str, name: str, email: str | None, clock: Clock) -> User:
    """The requester behind a chat visitor. The visitor's browser id is their chat identity. An email
    address nobody has yet makes them an email requester too (as a first email from it would), so
    replies can follow them by mail; an address that already belongs to someone is kept on the
    conversation only, unverified, and never joins the visitor to that person by itself."""
    if not CLIENT_ID.match(visitor_id) or len(visitor_id) < 16:
        raise ValidationFailed("visitor_id is 16-64 letters, digits or _.:-", field="visitor_id")
    known = person_by_identity(session, IdentityKind.CHAT, visitor_id)
    if known is not None:
        return known
    if email:
        from opsdesk.core.normalise import normalise_identity

        address = normalise_identity(IdentityKind.EMAIL, email)
        if person_by_identity(session, IdentityKind.EMAIL, address) is None and not session.scalar(
            select(User.id).where(User.email == address)
        ):
            person = find_or_create_requester(
                session, kind=IdentityKind.EMAIL, value=address, name=name, clock=clock
            )
            add_identity(session, user=person, kind=IdentityKind.CHAT, value=visitor_id, clock=clock)
            return person
    return find_or_create_requester(session, kind=IdentityKind.CHAT, value=visitor_id, name=name, clock=clock)


def start_chat(
    session: Session,
    *,
    visitor_id: str,
    name: str,
    email: str | None,
    language: str | None,
    text: str,
    client_id: str,
    clock: Clock,
    group: Group | None = None,
) -> Started:
    """A new chat from the pre-chat form: its ticket (channel chat), the first message as seq 1, and
    ``chat_started``. A resubmitted form (same visitor and client id) returns the same conversation
    with a fresh token: only the browser that holds the visitor id can send it."""
    name = _clean(name, "name", MAX_NAME)
    if not name:
        raise ValidationFailed("tell us your name", field="name")
    email = _clean(email, "email", 320) or None
    language = _clean(language, "language", 16) or None
    text = text.strip()
    if not text:
        raise ValidationFailed("a chat starts with a message", field="text")
    if len(text) > MAX_TEXT or "\x00" in text:
        raise ValidationFailed(f"a message is at most {MAX_TEXT} characters, without NUL", field="text")
    if not CLIENT_ID.match(client_id):
        raise ValidationFailed("client_id is 1-64 letters, digits or _.:-", field="client_id")
    person = visitor_person(session, visitor_id=visitor_id, name=name, email=email, clock=clock)
    token = secrets.token_urlsafe(32)
    external_id = f"chat:{visitor_id}:{client_id}"
    ticket = desk_actions.create_ticket(
        session,
        requester=person,
        subject=text.splitlines()[0][: MAX_SUBJECT - 8] or "Chat",
        body_text=text,
        channel=Channel.CHAT,
        clock=clock,
        group=group,
        external_id=external_id,
    )
    earlier = session.scalar(select(ChatConversation).where(ChatConversation.ticket_id == ticket.id))
    if earlier is not None:
        earlier.token_hash = hash_token(token)
        session.flush()
        return Started(earlier, token)
    now = clock.now()
    conversation = ChatConversation(
        ticket=ticket,
        token_hash=hash_token(token),
        state=ChatState.WAITING,
        group=group,
        visitor_name=name,
        visitor_email=email,
        language=language,
        last_seq=1,
        visitor_read_seq=1,
        agent_read_seq=0,
        visitor_online=True,
        started_at=now,
    )
    session.add(conversation)
    session.flush()
    session.add(
        ChatEntry(
            conversation_id=conversation.id,
            seq=1,
            client_id=client_id,
            sender=Sender.VISITOR,
            message_id=ticket.messages[0].id,
            created_at=now,
        )
    )
    append_event(
        session,
        subject_type="ticket",
        subject_id=ticket.id,
        type="chat_started",
        at=now,
        actor=person,
        data={"conversation_id": conversation.id, "language": language},
    )
    session.flush()
    return Started(conversation, token)


def post_message(
    session: Session,
    *,
    conversation: ChatConversation,
    sender: Sender,
    author: User,
    text: str,
    client_id: str,
    clock: Clock,
    attachments: Sequence[NewAttachment] = (),
    store: AttachmentStore | None = None,
) -> tuple[ChatEntry, bool]:
    """The entry for this message and whether it is new. A resend (same client id) returns the first
    entry; two resends racing are decided by the unique key. The sequence number comes from one
    atomic UPDATE ... RETURNING, so concurrent senders on several processes never share a number."""
    earlier = _entry_by_client_id(session, conversation.id, client_id)
    if earlier is not None:
        return earlier, False
    if conversation.state is ChatState.ENDED:
        raise Conflict("this chat has ended", field="conversation")
    if sender is Sender.AGENT and conversation.agent_id != author.id:
        join_chat(session, conversation=conversation, agent=author, clock=clock)
    try:
        with session.begin_nested():
            seq = session.execute(
                update(ChatConversation)
                .where(ChatConversation.id == conversation.id)
                .values(last_seq=ChatConversation.last_seq + 1)
                .returning(ChatConversation.last_seq)
            ).scalar_one()
            message = desk_actions.add_message(
                session,
                ticket=conversation.ticket,
                author=author,
                author_kind=AuthorKind.AGENT if sender is Sender.AGENT else AuthorKind.REQUESTER,
                public=True,
                channel=Channel.CHAT,
                clock=clock,
                body_text=text,
                attachments=attachments,
                store=store,
                # Online, the visitor reads it in the widget; once they have left, it follows by mail.
                deliver=not conversation.visitor_online,
            )
            entry = ChatEntry(
                conversation_id=conversation.id,
                seq=seq,
                client_id=client_id,
                sender=sender,
                message_id=message.id,
                message=message,  # the frame is built from it: no load back
                created_at=clock.now(),
            )
            session.add(entry)
            session.flush()
    except IntegrityError:
        winner = _entry_by_client_id(session, conversation.id, client_id)
        if winner is None:
            raise
        return winner, False
    # The UPDATE ... RETURNING gave the number: the object takes it without reading it back.
    set_committed_value(conversation, "last_seq", seq)
    return entry, True


def _entry_by_client_id(session: Session, conversation_id: int, client_id: str) -> ChatEntry | None:
    return session.scalar(
        select(ChatEntry).where(
            ChatEntry.conversation_id == conversation_id, ChatEntry.client_id == client_id
        )
    )


def join_chat(session: Session, *, conversation: ChatConversation, agent: User, clock: Clock) -> bool:
    """The agent takes the chat (and its ticket); False when they already had it. A chat another agent
    is in is theirs until they transfer it."""
    if conversation.state is ChatState.ENDED:
        raise Conflict("this chat has ended", field="conversation")
    if conversation.agent_id == agent.id and conversation.state is ChatState.ACTIVE:
        return False
    if conversation.agent_id not in (None, agent.id) and conversation.state is ChatState.ACTIVE:
        raise Conflict("another agent is in this chat; they can transfer it to you", field="conversation")
    joined = new_event(
        subject_type="ticket",
        subject_id=conversation.ticket_id,
        type="chat_agent_joined",
        at=clock.now(),
        actor=agent,
        data={"agent_id": agent.id},
    )
    # The assignment and both events now, in one INSERT; the SLA refresh and triggers by a job (see
    # desk.take_over): a take-over costs about what a message does. The rows are flushed with the
    # caller's next flush or commit.
    if conversation.ticket.assignee_id != agent.id:
        take_over(session, ticket=conversation.ticket, agent=agent, clock=clock, also=[joined])
    else:
        write_events(session, [joined])
    conversation.agent_id = agent.id
    conversation.state = ChatState.ACTIVE
    return True


def transfer_chat(
    session: Session,
    *,
    conversation: ChatConversation,
    actor: User,
    to_agent: User | None = None,
    to_group: Group | None = None,
    clock: Clock,
) -> None:
    """Hand the chat to an agent (it waits in their console for them to accept) or to a group (any of
    its agents may accept); the ticket follows."""
    if conversation.state is ChatState.ENDED:
        raise Conflict("this chat has ended", field="conversation")
    if (to_agent is None) == (to_group is None):
        raise ValidationFailed("transfer to an agent or to a group", field="to_agent_id")
    ticket = conversation.ticket
    data: dict[str, int | None] = {"from_agent_id": conversation.agent_id}
    if to_agent is not None:
        desk_actions.assign(session, ticket=ticket, assignee=to_agent, actor=actor, clock=clock)
        conversation.agent_id = to_agent.id
        data["to_agent_id"] = to_agent.id
    else:
        assert to_group is not None
        desk_actions.assign(session, ticket=ticket, assignee=None, group=to_group, actor=actor, clock=clock)
        conversation.agent_id = None
        conversation.group_id = to_group.id
        data["to_group_id"] = to_group.id
    conversation.state = ChatState.WAITING
    append_event(
        session,
        subject_type="ticket",
        subject_id=ticket.id,
        type="chat_transferred",
        at=clock.now(),
        actor=actor,
        data=data,
    )
    session.flush()


def end_chat(
    session: Session, *, conversation: ChatConversation, by: str, actor: User | None, clock: Clock
) -> bool:
    """End the chat (False when it had ended). An answered chat's ticket is solved, so the end-of-chat
    rating and the survey rules apply to it; an unanswered one stays open for a reply by mail."""
    if by not in ("customer", "agent", "timeout"):
        raise ValidationFailed("a chat ends by the customer, an agent or a timeout", field="by")
    if conversation.state is ChatState.ENDED:
        return False
    now = clock.now()
    conversation.state = ChatState.ENDED
    conversation.ended_at = now
    append_event(
        session,
        subject_type="ticket",
        subject_id=conversation.ticket_id,
        type="chat_ended",
        at=now,
        actor=actor,
        data={"by": by},
    )
    ticket: Ticket = conversation.ticket
    if ticket.status is Status.OPEN:
        desk_actions.change_status(session, ticket=ticket, to=Status.SOLVED, actor=actor, clock=clock)
    session.flush()
    return True


def set_visitor_presence(session: Session, *, conversation: ChatConversation, online: bool) -> bool:
    """Whether it changed. While the visitor is away, agent replies go out by mail."""
    if conversation.visitor_online is online:
        return False
    conversation.visitor_online = online
    session.flush()
    return True


def mark_read(session: Session, *, conversation: ChatConversation, sender: Sender, seq: int) -> int:
    """Read state only moves forward and never past the last message."""
    seq = min(seq, conversation.last_seq)
    if sender is Sender.VISITOR:
        conversation.visitor_read_seq = max(conversation.visitor_read_seq, seq)
        result = conversation.visitor_read_seq
    else:
        conversation.agent_read_seq = max(conversation.agent_read_seq, seq)
        result = conversation.agent_read_seq
    session.flush()
    return result


def rate_chat(
    session: Session, *, conversation: ChatConversation, rating: str, comment: str | None, clock: Clock
) -> bool:
    """Store the widget's end-of-chat rating as the ticket's CSAT (``csat_received`` with ``via: chat``):
    the same one-per-ticket rating an emailed survey records, which a later survey answer may change."""
    from opsdesk.desk.surveys.actions import record_rating
    from opsdesk.desk.surveys.scale import Scale, Via

    if conversation.state is not ChatState.ENDED:
        raise Conflict("a chat is rated once it has ended", field="rating")
    record_rating(
        session,
        ticket=conversation.ticket,
        choice=rating,
        scale=Scale.GOOD_BAD,  # the widget asks good or bad, whatever the emailed survey's scale
        via=Via.CHAT,
        clock=clock,
        comment=comment,
    )
    return True
