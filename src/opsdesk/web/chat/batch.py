"""Group commit of chat messages: the messages that arrive while one transaction writes are written
together in the next.

A chat message is a few small rows (the transcript message, its sequence entry, an event), and what
each one costs on its own is the transaction around it: on SQLite the single writer's lock and the
WAL append, on PostgreSQL the commit's flush. With one transaction per message one process stored
about 100 messages a second whatever the load. Here one writer per process takes every message that
is waiting, stores each in its own savepoint (one that fails, say on a chat that has just ended, is
refused alone) and commits once; only then is each sender acknowledged and the message fanned out, so
nothing is shown that a crash could still lose. Under light load a batch is one message and nothing
waits; under heavy load batches grow, and so does what a commit buys.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.desk.channels.chat.protocol import Send
from opsdesk.web.chat import work

# Enough to make a commit worth it many times over, few enough that one batch stays short.
MAX_BATCH = 200
Sent = tuple[dict[str, Any], bool, dict[str, Any] | None]


@dataclass
class _Item:
    who: work.Who
    frame: Send
    clock: Clock
    future: asyncio.Future[Sent] = field(repr=False)


class SendBatcher:
    """One per web process (and event loop): ``send`` returns what ``work.send`` returns, once the
    message is committed."""

    def __init__(self, session_factory: sessionmaker[Session], max_batch: int = MAX_BATCH) -> None:
        self._factory = session_factory
        self._max_batch = max_batch
        self._waiting: list[_Item] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0

    async def send(self, who: work.Who, frame: Send, clock: Clock) -> Sent:
        future: asyncio.Future[Sent] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Item(who, frame, clock, future))
        if self._writer is None or self._writer.done():
            loop = asyncio.get_running_loop()
            self._writer = loop.create_task(self._write_all(), name="opsdesk-chat-writer")
        return await future

    async def _write_all(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                outcomes = await run_in_threadpool(self._store, batch)
            except BaseException as exc:  # the thread itself failed (cancelled on shutdown): tell everyone
                outcomes = [exc] * len(batch)
            self.batches += 1
            for item, outcome in zip(batch, outcomes, strict=True):
                if item.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)

    def _store(self, batch: list[_Item]) -> list[Sent | BaseException]:
        outcomes: list[Sent | BaseException] = []
        try:
            with transaction(self._factory) as session:
                for item in batch:
                    outcomes.append(_one(session, item))
        except Exception as exc:
            # The commit itself failed, so none of the batch is stored: alone, each message gets its
            # own answer (the one that broke the commit its error, the others their acknowledgement).
            if len(batch) == 1:
                return [exc]
            return [self._store([item])[0] for item in batch]
        return outcomes


def _one(session: Session, item: _Item) -> Sent | BaseException:
    try:
        with session.begin_nested():
            return work.send(session, item.who, item.frame, item.clock)
    except Exception as exc:
        return exc


def batcher_for(state: Any) -> SendBatcher:
    """The process's batcher, made on first use (inside the running loop)."""
    batcher: SendBatcher | None = getattr(state, "chat_send_batcher", None)
    if batcher is None:
        batcher = SendBatcher(state.session_factory)
        state.chat_send_batcher = batcher
    return batcher
