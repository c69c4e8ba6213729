"""What each socket frame does to the database: one transaction each, on a worker thread, returning
plain frames (no ORM object leaves the thread). Access is checked again on every agent frame, so a
role or sensitivity change takes effect at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core import queries as core_queries
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.models import Group, User
from opsdesk.desk import access
from opsdesk.desk.access import TicketOp
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.chat import actions, queries
from opsdesk.desk.channels.chat.models import ChatConversation, ChatState, Sender
from opsdesk.desk.channels.chat.protocol import Rate, Send, Transfer


@dataclass(frozen=True)
class Who:
    """The socket's side: the visitor of a conversation, or a signed-in agent."""

    sender: Sender
    user_id: int
    conversation_id: int


def authenticate_staff(session: Session, *, bearer: str | None, cookie: str | None, clock: Clock) -> User:
    user = None
    if bearer:
        user = core_queries.user_for_token(session, bearer, clock)
    elif cookie:
        row = core_queries.browser_session(session, cookie, clock)
        user = row.user if row is not None else None
    if user is None:
        raise NotFound("sign in first", field="session")
    if not user.is_staff:
        raise PermissionDenied("the agent side of chat is for staff; customers chat in the widget")
    return user


def visitor_conversation(session: Session, token: str) -> Who:
    conversation = queries.conversation_by_token(session, token)
    if conversation is None:
        raise NotFound("no chat for this token", field="token")
    return Who(Sender.VISITOR, conversation.ticket.requester_id, conversation.id)


def _conversation(
    session: Session, who: Who, clock: Clock, op: TicketOp = TicketOp.REPLY
) -> ChatConversation:
    conversation = session.get(ChatConversation, who.conversation_id)
    if conversation is None:
        raise NotFound(f"no chat {who.conversation_id}", field="conversation_id")
    if who.sender is Sender.AGENT:
        access.require(session.get_one(User, who.user_id), op, conversation.ticket)
    return conversation


def agent_conversation(session: Session, user_id: int, conversation_id: int, clock: Clock) -> Who:
    """An agent opens a chat: read as a ticket read (a sensitive one audited, a refusal too)."""
    conversation = session.get(ChatConversation, conversation_id)
    if conversation is None:
        raise NotFound(f"no chat {conversation_id}", field="conversation_id")
    user = session.get_one(User, user_id)
    access.ticket_for(session, conversation.ticket_id, user, clock)
    access.require(user, TicketOp.REPLY, conversation.ticket)
    return Who(Sender.AGENT, user_id, conversation_id)


def welcome(session: Session, who: Who, last_seq: int, clock: Clock) -> tuple[list[dict[str, Any]], bool]:
    """The welcome frame and what the client missed; whether the visitor just came online."""
    conversation = _conversation(session, who, clock)
    came_online = False
    if who.sender is Sender.VISITOR and conversation.state is not ChatState.ENDED:
        came_online = actions.set_visitor_presence(session, conversation=conversation, online=True)
    frames = [state_frame(conversation), *queries.frames_after(session, conversation.id, last_seq)]
    return frames, came_online


def resync(session: Session, who: Who, last_seq: int, clock: Clock) -> list[dict[str, Any]]:
    return queries.frames_after(session, _conversation(session, who, clock).id, last_seq)


def state_frame(conversation: ChatConversation) -> dict[str, Any]:
    return {
        "type": "state",
        "conversation_id": conversation.id,
        "ticket_id": conversation.ticket_id,
        "state": conversation.state.value,
        "agent": conversation.agent.name if conversation.agent is not None else None,
        "agent_id": conversation.agent_id,
        "last_seq": conversation.last_seq,
        "visitor_read_seq": conversation.visitor_read_seq,
        "agent_read_seq": conversation.agent_read_seq,
        "visitor": "online" if conversation.visitor_online else "left",
    }


def send(
    session: Session,
    who: Who,
    frame: Send,
    clock: Clock,
    attachments: Sequence[NewAttachment] = (),
    store: AttachmentStore | None = None,
) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
    """The message's frame, whether it is new, and the chat's state frame when the message changed it
    (an agent's first message takes the chat), built in this transaction so telling the chat costs no
    second one. A file comes over HTTP rather than the socket, with the same frame."""
    conversation = _conversation(session, who, clock)
    author = session.get_one(User, who.user_id)
    state_before = (conversation.state, conversation.agent_id)
    entry, new = actions.post_message(
        session,
        conversation=conversation,
        sender=who.sender,
        author=author,
        text=frame.text,
        client_id=frame.client_id,
        clock=clock,
        attachments=attachments,
        store=store,
    )
    changed = state_before != (conversation.state, conversation.agent_id)
    return queries.entry_frame(entry, entry.message), new, state_frame(conversation) if changed else None


def mark_read(session: Session, who: Who, seq: int, clock: Clock) -> int:
    conversation = _conversation(session, who, clock, TicketOp.READ)
    return actions.mark_read(session, conversation=conversation, sender=who.sender, seq=seq)


def leave(session: Session, who: Who) -> bool:
    """The visitor's socket closed: whether they are now away (mail takes the agent's replies)."""
    conversation = session.get(ChatConversation, who.conversation_id)
    if conversation is None or conversation.state is ChatState.ENDED:
        return False
    return actions.set_visitor_presence(session, conversation=conversation, online=False)


def end(session: Session, who: Who, clock: Clock) -> bool:
    conversation = _conversation(session, who, clock)
    actor = session.get_one(User, who.user_id)
    by = "agent" if who.sender is Sender.AGENT else "customer"
    return actions.end_chat(session, conversation=conversation, by=by, actor=actor, clock=clock)


def accept(session: Session, who: Who, clock: Clock) -> dict[str, Any]:
    conversation = _conversation(session, who, clock)
    actions.join_chat(
        session, conversation=conversation, agent=session.get_one(User, who.user_id), clock=clock
    )
    return state_frame(conversation)


def transfer(session: Session, who: Who, frame: Transfer, clock: Clock) -> dict[str, Any]:
    conversation = _conversation(session, who, clock, TicketOp.ASSIGN)
    actor = session.get_one(User, who.user_id)
    to_agent = to_group = None
    if frame.to_agent_id is not None:
        to_agent = session.get(User, frame.to_agent_id)
        if to_agent is None or not to_agent.is_staff or not to_agent.active:
            raise ValidationFailed(f"no active agent {frame.to_agent_id}", field="to_agent_id")
    else:
        assert frame.to_group_id is not None
        to_group = session.get(Group, frame.to_group_id)
        if to_group is None:
            raise ValidationFailed(f"no group {frame.to_group_id}", field="to_group_id")
    actions.transfer_chat(
        session, conversation=conversation, actor=actor, to_agent=to_agent, to_group=to_group, clock=clock
    )
    return state_frame(conversation)


def rate(session: Session, who: Who, frame: Rate, clock: Clock) -> bool:
    conversation = _conversation(session, who, clock)
    return actions.rate_chat(
        session, conversation=conversation, rating=frame.rating, comment=frame.comment, clock=clock
    )
