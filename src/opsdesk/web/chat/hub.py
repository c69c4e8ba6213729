"""Fan-out of chat frames to the sockets that follow a conversation, and which agents are online.

In one process the hub is a dictionary of queues. With ``OPSDESK_REDIS_URL`` set, every frame goes
through Redis pub/sub and each process delivers what it hears to its own sockets, so a visitor on one
process and an agent on another see each other. Pub/sub may drop a frame (a process restarting): the
clients notice the gap in sequence numbers and ask the database again, which never drops one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from typing import Any

log = logging.getLogger(__name__)
CONSOLE = 0  # the topic every agent console follows: chats that start, wait or are transferred
QUEUE_LIMIT = 1000
ONLINE_FOR_S = 60.0


class Subscription:
    """One socket's queue; a slow socket that falls 1000 frames behind is dropped and resyncs."""

    def __init__(self, topic: int) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)

    def put(self, frame: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            self.queue.put_nowait(None)  # tells the socket to close; the client reconnects and resyncs


class LocalHub:
    def __init__(self) -> None:
        self._subs: dict[int, set[Subscription]] = defaultdict(set)
        self._agents: dict[int, float] = {}

    async def start(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to let go of."""

    def subscribe(self, topic: int) -> Subscription:
        sub = Subscription(topic)
        self._subs[topic].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.topic]

    def deliver(self, topic: int, frame: dict[str, Any]) -> None:
        for sub in list(self._subs.get(topic, ())):
            sub.put(frame)

    async def publish(self, topic: int, frame: dict[str, Any]) -> None:
        self.deliver(topic, frame)

    async def agent_seen(self, agent_id: int) -> None:
        self._agents[agent_id] = time.time()

    async def agent_gone(self, agent_id: int) -> None:
        self._agents.pop(agent_id, None)

    async def agents_online(self) -> int:
        cutoff = time.time() - ONLINE_FOR_S
        return sum(1 for seen in self._agents.values() if seen > cutoff)


class RedisHub(LocalHub):
    """Frames go out on ``<prefix>:c:<topic>``; one pattern subscription per process hears them all.
    Online agents are a sorted set by last-seen time, shared by every process."""

    def __init__(self, url: str, prefix: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self.prefix = prefix
        self._redis = aioredis.Redis.from_url(url)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self) -> None:
        pattern = f"{self.prefix}:c:*"
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    topic = int(message["channel"].rsplit(b":", 1)[1])
                    self.deliver(topic, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("chat fan-out lost Redis; reconnecting", exc_info=True)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self._redis.aclose()

    async def publish(self, topic: int, frame: dict[str, Any]) -> None:
        try:
            await self._redis.publish(f"{self.prefix}:c:{topic}", json.dumps(frame))
        except Exception:
            log.warning("chat fan-out could not publish; delivering here only", exc_info=True)
            self.deliver(topic, frame)

    async def agent_seen(self, agent_id: int) -> None:
        await self._redis.zadd(f"{self.prefix}:agents", {str(agent_id): time.time()})

    async def agent_gone(self, agent_id: int) -> None:
        await self._redis.zrem(f"{self.prefix}:agents", str(agent_id))

    async def agents_online(self) -> int:
        return int(await self._redis.zcount(f"{self.prefix}:agents", time.time() - ONLINE_FOR_S, "+inf"))


class PostgresHub(LocalHub):
    """Without Redis, on PostgreSQL: frames go out with NOTIFY on one channel and every process
    LISTENs, so the web processes of one `opsdesk serve` (several by default on PostgreSQL) fan out to
    each other. A frame too large for a notification (8000 bytes) goes as a ``sync`` hint: the clients
    then ask the database for what they miss. Online agents are announced the same way."""

    CHANNEL = "opsdesk_chat"
    LIMIT = 7900
    AGENTS = -1

    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self.conninfo = conninfo
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._sender: Any = None
        self._send_lock = asyncio.Lock()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self.CHANNEL}")
                    self._ready.set()
                    async for note in conn.notifies():
                        topic, _, data = note.payload.partition(" ")
                        self._heard(int(topic), json.loads(data))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("chat fan-out lost PostgreSQL; reconnecting", exc_info=True)
                await asyncio.sleep(1)

    def _heard(self, topic: int, frame: dict[str, Any]) -> None:
        if topic != self.AGENTS:
            self.deliver(topic, frame)
        elif frame.get("gone"):
            self._agents.pop(int(frame["agent"]), None)
        else:
            self._agents[int(frame["agent"])] = time.time()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._sender is not None:
            await self._sender.close()

    async def publish(self, topic: int, frame: dict[str, Any]) -> None:
        import psycopg

        payload = f"{topic} {json.dumps(frame)}"
        if len(payload.encode()) > self.LIMIT:
            payload = f"{topic} " + json.dumps({"type": "sync", "seq": frame.get("seq")})
        try:
            async with self._send_lock:
                if self._sender is None or self._sender.closed:
                    self._sender = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                await self._sender.execute("SELECT pg_notify(%s, %s)", (self.CHANNEL, payload))
        except Exception:
            log.warning("chat fan-out could not notify; delivering here only", exc_info=True)
            self._heard(topic, frame)

    async def agent_seen(self, agent_id: int) -> None:
        await self.publish(self.AGENTS, {"agent": agent_id})

    async def agent_gone(self, agent_id: int) -> None:
        await self.publish(self.AGENTS, {"agent": agent_id, "gone": True})


def make_hub(settings: Any, engine: Any) -> LocalHub:
    """Redis when configured; else PostgreSQL's NOTIFY when that is the database; else in-process."""
    if settings.redis_url:
        return RedisHub(settings.redis_url, settings.chat_redis_prefix)
    if engine.dialect.name == "postgresql":
        url = engine.url.set(drivername="postgresql")
        return PostgresHub(url.render_as_string(hide_password=False))
    return LocalHub()


async def hub_for(state: Any) -> LocalHub:
    """The application's hub, made on first use inside the serving event loop (made and stored with no
    await in between, so two first sockets share one; both wait until it has connected)."""
    hub: LocalHub | None = getattr(state, "chat_hub", None)
    if hub is None:
        hub = make_hub(state.settings, state.engine)
        state.chat_hub = hub
        state.chat_hub_started = asyncio.ensure_future(hub.start())
    await asyncio.shield(state.chat_hub_started)
    return hub


async def close_hub(state: Any) -> None:
    hub: LocalHub | None = getattr(state, "chat_hub", None)
    if hub is not None:
        state.chat_hub = None
        with contextlib.suppress(BaseException):
            await state.chat_hub_started
        await hub.close()
