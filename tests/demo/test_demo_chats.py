"""The demo's recent chat tickets are live chats: numbered transcripts and chat events whose times
are those of a chat desk (waits of seconds, answered chats ended)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event
from opsdesk.demo.loader import load_demo
from opsdesk.desk.channels.chat.metrics import chat_times
from opsdesk.desk.channels.chat.models import ChatConversation, ChatEntry


def test_recent_chat_tickets_are_chats_with_realistic_times(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory,
        clock=clock,
        organisations=100,
        tickets_per_day=20,
        history_days=40,
        success_accounts=50,
    )
    assert counts["chats"] > 50
    assert db.query(ChatConversation).count() == counts["chats"]
    seqs: dict[int, list[int]] = defaultdict(list)
    for conversation_id, seq in db.execute(
        select(ChatEntry.conversation_id, ChatEntry.seq).order_by(ChatEntry.id)
    ):
        seqs[conversation_id].append(seq)
    assert all(s == list(range(1, len(s) + 1)) for s in seqs.values())
    by_ticket: dict[int, list[Any]] = defaultdict(list)
    chat_tickets = select(ChatConversation.ticket_id)
    for e in db.scalars(
        select(Event)
        .where(Event.subject_id.in_(chat_tickets), Event.subject_type == "ticket")
        .order_by(Event.at, Event.id)
    ):
        by_ticket[e.subject_id].append((e.type, e.at, e.data))
    times = [chat_times(events) for events in by_ticket.values()]
    waits = sorted(t.wait_s for t in times if t.wait_s is not None)
    handled = [t.handle_s for t in times if t.handle_s is not None]
    assert waits and all(w >= 0 for w in waits) and waits[len(waits) // 2] < 30 * 60
    assert handled and all(h > 0 for h in handled)
