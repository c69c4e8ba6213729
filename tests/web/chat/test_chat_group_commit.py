"""Chat messages that arrive together are committed together, each still answered on its own: a
message refused (its chat has ended) does not take the others of its batch down with it."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict
from opsdesk.desk.channels.chat.actions import end_chat, start_chat
from opsdesk.desk.channels.chat.models import ChatConversation, ChatEntry, Sender
from opsdesk.desk.channels.chat.protocol import Send
from opsdesk.desk.models import Message
from opsdesk.web.chat import work
from opsdesk.web.chat.batch import SendBatcher
from tests.conftest import run_in_own_loop


def _chats(db: Session, clock: FixedClock, n: int) -> list[work.Who]:
    whos = []
    for i in range(n):
        started = start_chat(
            db,
            visitor_id=f"group-commit-visitor-{i:04d}",
            name=f"Visitor {i}",
            email=None,
            language="en",
            text="hello",
            client_id="c-0",
            clock=clock,
        )
        conversation = started.conversation
        whos.append(work.Who(Sender.VISITOR, conversation.ticket.requester_id, conversation.id))
    db.commit()
    return whos


def test_concurrent_messages_share_commits_and_a_refused_one_fails_alone(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    whos = _chats(db, clock, 40)
    ended = db.get_one(ChatConversation, whos[7].conversation_id)
    end_chat(db, conversation=ended, by="customer", actor=ended.ticket.requester, clock=clock)
    db.commit()
    batcher = SendBatcher(session_factory)

    async def send_all() -> list[object]:
        sends = [
            batcher.send(who, Send(client_id=f"c-{k}", text=f"message {k}"), clock)
            for who in whos
            for k in (1, 2)
        ]
        return await asyncio.gather(*sends, return_exceptions=True)

    outcomes = run_in_own_loop(send_all())
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 2 and all(isinstance(o, Conflict) for o in refused)
    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(stored) == 78
    # Every chat's two messages got the next two numbers after its opening message, in order.
    assert sorted({(frame["seq"], new) for frame, new, _state in stored}) == [(2, True), (3, True)]
    assert batcher.batches < 20  # 80 messages, far fewer commits

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ChatEntry)) == 40 + 78
    assert (
        db.scalar(select(func.count()).select_from(Message).where(Message.body_text.like("message %"))) == 78
    )
    # A resend of a committed message is recognised, not stored again.
    again = run_in_own_loop(batcher.send(whos[0], Send(client_id="c-1", text="message 1"), clock))
    assert again[1] is False
    assert db.scalar(select(func.count()).select_from(ChatEntry)) == 40 + 78
