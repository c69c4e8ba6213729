"""The demo's recent chat tickets made live chats: a conversation with numbered entries for each, and
the chat events (started, agent joined, ended) at the times its messages imply, so the console, the
transcript and the wait / first-response / handle times have realistic data."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, User
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.desk.channels.chat.models import ChatConversation, ChatEntry, ChatState, Sender
from opsdesk.desk.models import AuthorKind, Channel, Message, Status, Ticket

CHAT_DAYS = 30
LANGUAGES = (["en"] * 8) + ["es", "tl"]
LIVE_FOR = timedelta(hours=2)


def create_chat_history(
    session: Session, *, rng: np.random.Generator, now: datetime, days: int = CHAT_DAYS
) -> int:
    """Conversations for the chat tickets of the last ``days`` days; returns how many."""
    tickets = session.execute(
        select(Ticket.id, Ticket.created_at, Ticket.status, Ticket.assignee_id, User.name)
        .join(User, User.id == Ticket.requester_id)
        .where(Ticket.channel == Channel.CHAT, Ticket.created_at >= now - timedelta(days=days))
        .order_by(Ticket.id)
    ).all()
    if not tickets:
        return 0
    messages: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(Message.id, Message.ticket_id, Message.author_id, Message.author_kind, Message.created_at)
        .where(Message.ticket_id >= tickets[0].id, Message.public.is_(True), Message.channel == Channel.CHAT)
        .order_by(Message.id)
    ):
        messages[row.ticket_id].append(row)
    conversation_id = next_id(session, ChatConversation)
    entry_id = next_id(session, ChatEntry)
    event_id = next_id(session, Event)
    conversations, entries, events = [], [], []

    def event(ticket_id: int, at: datetime, kind: str, actor: int | None, data: dict[str, Any]) -> None:
        nonlocal event_id
        events.append(
            {
                "id": event_id,
                "at": at,
                "actor_id": actor,
                "subject_type": "ticket",
                "subject_id": ticket_id,
                "type": kind,
                "data": data,
            }
        )
        event_id += 1

    for ticket in tickets:
        transcript = messages.get(ticket.id, [])
        if not transcript:
            continue
        agent_messages = [m for m in transcript if m.author_kind is AuthorKind.AGENT]
        agent_id = agent_messages[0].author_id if agent_messages else ticket.assignee_id
        # A chat still unsolved hours later ended (it timed out) and goes on by mail.
        solved = ticket.status in (Status.SOLVED, Status.CLOSED)
        done = solved or ticket.created_at < now - LIVE_FOR
        ended_at = transcript[-1].created_at + timedelta(seconds=int(rng.integers(30, 240))) if done else None
        state = ChatState.ENDED if done else (ChatState.ACTIVE if agent_id else ChatState.WAITING)
        conversations.append(
            {
                "id": conversation_id,
                "ticket_id": ticket.id,
                # The hash of a token nobody holds: no one can reconnect to a demo chat as its visitor.
                "token_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                "state": state,
                "agent_id": agent_id if state is not ChatState.WAITING else None,
                "group_id": None,
                "visitor_name": ticket.name,
                "visitor_email": None,
                "language": LANGUAGES[int(rng.integers(len(LANGUAGES)))],
                "last_seq": len(transcript),
                "visitor_read_seq": len(transcript) if done else max(1, len(transcript) - 1),
                "agent_read_seq": len(transcript),
                "visitor_online": not done,
                "started_at": ticket.created_at,
                "ended_at": ended_at,
            }
        )
        for seq, message in enumerate(transcript, start=1):
            agent = message.author_kind is AuthorKind.AGENT
            entries.append(
                {
                    "id": entry_id,
                    "conversation_id": conversation_id,
                    "seq": seq,
                    "client_id": f"demo-{seq}",
                    "sender": Sender.AGENT if agent else Sender.VISITOR,
                    "message_id": message.id,
                    "created_at": message.created_at,
                }
            )
            entry_id += 1
        requester_id = transcript[0].author_id
        event(
            ticket.id,
            ticket.created_at,
            "chat_started",
            requester_id,
            {"conversation_id": conversation_id, "language": "en"},
        )
        if agent_messages:
            first = agent_messages[0].created_at
            joined = max(ticket.created_at, first - timedelta(seconds=int(rng.integers(5, 45))))
            event(ticket.id, joined, "chat_agent_joined", agent_id, {"agent_id": agent_id})
        if ended_at is not None:
            by = ("customer" if rng.random() < 0.35 else "agent") if solved else "timeout"
            actor = {"agent": agent_id, "customer": requester_id}.get(by)
            event(ticket.id, ended_at, "chat_ended", actor, {"by": by})
        conversation_id += 1
    bulk_insert(session, ChatConversation, conversations)
    bulk_insert(session, ChatEntry, entries)
    bulk_insert(session, Event, events)
    return len(conversations)
