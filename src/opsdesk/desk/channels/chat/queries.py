"""Reads of chats: a conversation by its visitor token, what a client missed, an agent's chats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.desk.access import can_see
from opsdesk.desk.channels.chat.actions import hash_token
from opsdesk.desk.channels.chat.models import ChatConversation, ChatEntry, ChatState
from opsdesk.desk.channels.chat.protocol import message_frame
from opsdesk.desk.models import Attachment, Message, Ticket
from opsdesk.desk.sla.calendars import hours_of
from opsdesk.desk.sla.models import BusinessSchedule

RESUME_LIMIT = 1000


def conversation_by_token(session: Session, token: str) -> ChatConversation | None:
    if not token or len(token) > 200:
        return None
    return session.scalar(select(ChatConversation).where(ChatConversation.token_hash == hash_token(token)))


def frames_after(session: Session, conversation_id: int, seq: int) -> list[dict[str, Any]]:
    """The message frames after ``seq``, in order: what a reconnecting client missed."""
    rows = session.execute(
        select(ChatEntry, Message)
        .join(Message, Message.id == ChatEntry.message_id)
        .options(joinedload(Message.author), selectinload(Message.attachments))
        .where(ChatEntry.conversation_id == conversation_id, ChatEntry.seq > seq)
        .order_by(ChatEntry.seq)
        .limit(RESUME_LIMIT)
    ).all()
    return [entry_frame(entry, message) for entry, message in rows]


def entry_frame(entry: ChatEntry, message: Message) -> dict[str, Any]:
    author = message.author.name if message.author is not None else ""
    return message_frame(
        seq=entry.seq,
        client_id=entry.client_id,
        sender=entry.sender.value,
        author=author,
        text=message.body_text,
        at=entry.created_at,
        attachments=[
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
    )


def open_for_chat(session: Session, schedule_name: str, at: datetime) -> bool:
    """Whether chat is in its business hours at ``at`` (always, with no schedule named; a name that
    matches no schedule is closed, so a typo never opens chat at night)."""
    if not schedule_name:
        return True
    schedule = session.scalar(select(BusinessSchedule).where(BusinessSchedule.name == schedule_name))
    if schedule is None:
        return False
    versions = [v for v in schedule.versions if v.effective_from <= at] or list(schedule.versions)
    if not versions:
        return True
    return hours_of(max(versions, key=lambda v: v.effective_from)).is_open(at)


def visitor_attachment(session: Session, conversation: ChatConversation, attachment_id: int) -> Attachment:
    """A file of this chat's transcript, for its visitor; NotFound for any other."""
    row = session.scalar(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(
            Attachment.id == attachment_id,
            Message.ticket_id == conversation.ticket_id,
            Message.public.is_(True),
        )
    )
    if row is None:
        raise NotFound(f"no attachment {attachment_id} in this chat", field="attachment_id")
    return row


def console_chats(session: Session, agent: User) -> list[ChatConversation]:
    """The agent's own chats and those waiting for anyone (or for one of their groups), that they may
    read: sensitive tickets stay with those who may see them."""
    group_ids = [g.id for g in agent.groups]
    waiting_for_them = ChatConversation.state == ChatState.WAITING
    if group_ids:
        mine_to_take = or_(ChatConversation.group_id.is_(None), ChatConversation.group_id.in_(group_ids))
    else:
        mine_to_take = ChatConversation.group_id.is_(None)
    rows = session.scalars(
        select(ChatConversation)
        .options(joinedload(ChatConversation.ticket))
        .where(
            or_(
                ChatConversation.agent_id == agent.id,
                waiting_for_them & ChatConversation.agent_id.is_(None) & mine_to_take,
            ),
            ChatConversation.state != ChatState.ENDED,
        )
        .order_by(ChatConversation.started_at)
        .limit(100)
    ).all()
    return [c for c in rows if can_see(agent, c.ticket)]


def other_tickets(session: Session, ticket: Ticket, viewer: User, limit: int = 10) -> list[Ticket]:
    """The requester's other tickets on every channel that ``viewer`` may see, newest first."""
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.requester_id == ticket.requester_id, Ticket.id != ticket.id)
        .order_by(Ticket.id.desc())
        .limit(limit * 3)
    ).all()
    return [t for t in rows if can_see(viewer, t)][:limit]
