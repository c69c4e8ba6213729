"""Chat delivery over real WebSockets: one `opsdesk serve` process, N clients in visitor-agent pairs on
loopback, against a minimal relay written directly on the same WebSocket library, in the same run.

Two loads, each for ROUNDS turns each way per pair, visitor and agent taking turns:
- paced: the pairs together offer BENCH_CHAT_RATE messages a second (default 200), each pair sending on
  its own schedule (period = pairs / rate, a random phase), as people typing do. This is the target's
  load: at 2,000 clients and 200 messages/s, what latency does a message see?
- capacity: no pause at all, one message in flight per pair (a closed loop), so the rate is what the
  server can carry; by Little's law latency is then pairs / rate, whatever the server.
Latency is send -> the other side's receipt of the message frame; OpsDesk stores each message (its
sequence number, the ticket's transcript, the event log) and commits before fanning it out. A message
not received within the timeout counts as lost.

Anchor: a `websockets` server (the library uvicorn runs OpsDesk's sockets on) that relays each frame to
the pair's other socket, no storage, in its own process, under the same clients and load. Printed:
messages/s, p50/p99 delivery latency and lost, for both, and OpsDesk's throughput / the anchor's.
Targets (issue 10): p99 < 150 ms at 2,000 clients and 200 messages/s, 0 lost.

Two readings of "in conversation", each on a fresh database (``--joins``, default both):
- setup: every agent takes their chat before the timed load, as the console's accept does; the load
  is messages in chats already under way.
- load: nobody has taken the chats; each agent's first message takes theirs (the assignment and the
  chat's state change), so all take-overs fall inside the timed load, in one pacing period
  (pairs / rate seconds: 5 s at 2,000 clients and 200 messages/s), as the first benchmark had it.

Sizes: BENCH_CHAT_CLIENTS (default "500,2000"), BENCH_CHAT_ROUNDS (default 5). The database is a
scratch SQLite file (the embedded default) unless BENCH_DATABASE_URL names another. ``--paced-only``
skips the capacity loads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
SIZES = [int(n) for n in os.environ.get("BENCH_CHAT_CLIENTS", "500,2000").split(",")]
ROUNDS = int(os.environ.get("BENCH_CHAT_ROUNDS", "5"))
RATE = float(os.environ.get("BENCH_CHAT_RATE", "200"))
TIMEOUT_S = 30.0
OPEN_AT_ONCE = 20

RELAY = """
import asyncio, sys
from websockets.asyncio.server import serve
pairs = {}
async def handler(ws):
    _, _, pair, role = ws.request.path.split("/")
    pairs.setdefault(pair, {})[role] = ws
    async for frame in ws:
        other = pairs[pair].get("agent" if role == "visitor" else "visitor")
        if other is not None:
            await other.send(frame)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), max_queue=None):
        await asyncio.Future()
asyncio.run(main())
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, pairs: int, join: bool) -> tuple[str, list[tuple[int, str]]]:
    """The schema, an agent with an API token, and ``pairs`` chats (their ids and visitor tokens),
    taken by the agent when ``join``."""
    sys.path.insert(0, str(ROOT / "src"))
    from opsdesk.core.actions import create_api_token, create_user
    from opsdesk.core.clock import SystemClock
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.models import Role, Tier
    from opsdesk.desk.channels.chat.actions import join_chat, start_chat
    from opsdesk.schema import metadata

    engine = make_engine(url)
    metadata.create_all(engine)
    clock = SystemClock()
    with make_session_factory(engine)() as session:
        agent = create_user(
            session,
            email="bench-agent@bench.example",
            name="Bench Agent",
            role=Role.AGENT,
            tier=Tier.L1,
            password="bench password 1",
            clock=clock,
        )
        _row, bearer = create_api_token(session, user=agent, name="bench", clock=clock)
        chats = []
        for n in range(pairs):
            started = start_chat(
                session,
                visitor_id=f"bench-visitor-{n:08d}",
                name=f"Visitor {n}",
                email=None,
                language="en",
                text="hello",
                client_id="c-0",
                clock=clock,
            )
            if join:  # the agent takes the chat now, as the console's accept does
                join_chat(session, conversation=started.conversation, agent=agent, clock=clock)
            chats.append((started.conversation.id, started.token))
        session.commit()
    engine.dispose()
    return bearer, chats


async def _recv_until(ws: ClientConnection, match: str) -> None:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        # OpsDesk delivers a "message" frame; the relay passes the "send" frame on as it came.
        if frame.get("type") in ("message", "send") and frame.get("client_id") == match:
            return


async def _one_message(
    side: ClientConnection, other: ClientConnection, client_id: str, latencies: list[float], lost: list[int]
) -> None:
    started = time.perf_counter()
    await side.send(json.dumps({"type": "send", "client_id": client_id, "text": f"message {client_id}"}))
    try:
        await _recv_until(other, client_id)
    except TimeoutError:
        lost.append(1)
        return
    latencies.append(time.perf_counter() - started)


async def converse(
    visitor: ClientConnection,
    agent: ClientConnection,
    pair: int,
    latencies: list[float],
    lost: list[int],
    schedule: tuple[float, float] | None,
) -> None:
    """``schedule`` (first send, period) paces the pair; without it, each message follows the last."""
    loop = asyncio.get_running_loop()
    k = 0
    for turn in range(ROUNDS):
        for side, other, name in ((visitor, agent, "v"), (agent, visitor, "a")):
            if schedule is not None:
                await asyncio.sleep(max(0.0, schedule[0] + k * schedule[1] - loop.time()))
            k += 1
            # Fresh client ids per load: the same id again would be a resend, stored (and shown) once.
            prefix = "p" if schedule is not None else "c"
            await _one_message(side, other, f"{prefix}{name}-{pair}-{turn}", latencies, lost)


async def run_load(open_pair: Any, pairs: int, paced: bool) -> dict[str, float]:
    # Opened a few at a time: all at once, on a busy machine a socket's hello can miss the server's
    # 15 s hello deadline while the others are being accepted (set-up, not the load being timed).
    opening = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_one(n: int) -> tuple[ClientConnection, ClientConnection]:
        async with opening:
            pair: tuple[ClientConnection, ClientConnection] = await open_pair(n)
            return pair

    sockets = await asyncio.gather(*(open_one(n) for n in range(pairs)))
    latencies: list[float] = []
    lost: list[int] = []
    rng = random.Random(pairs)
    period = pairs / RATE
    begin = asyncio.get_running_loop().time() + 0.5
    schedules = [(begin + rng.uniform(0, period), period) if paced else None for _ in range(pairs)]
    started = time.perf_counter()
    await asyncio.gather(
        *(converse(v, a, n, latencies, lost, schedules[n]) for n, (v, a) in enumerate(sockets))
    )
    elapsed = time.perf_counter() - started - (0.5 if paced else 0.0)
    await asyncio.gather(*(ws.close() for pair in sockets for ws in pair))
    latencies.sort()
    return {
        "messages_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "lost": float(len(lost)),
    }


async def _handshake(ws: ClientConnection, hello: dict[str, Any]) -> ClientConnection:
    await ws.send(json.dumps(hello))
    while json.loads(await ws.recv()).get("type") != "message":  # the welcome, then the first message
        pass
    return ws


def opsdesk_pairs(base: str, bearer: str, chats: list[tuple[int, str]]) -> Any:
    async def open_pair(n: int) -> tuple[ClientConnection, ClientConnection]:
        conversation_id, token = chats[n]
        # Each socket says hello as soon as it is open: the server closes one that is silent for 15 s.
        visitor = await connect(
            base + "/chat/ws/visitor", max_queue=None, open_timeout=60, ping_interval=None
        )
        await _handshake(visitor, {"type": "hello", "token": token, "last_seq": 0})
        agent = await connect(
            f"{base}/chat/ws/agent/{conversation_id}",
            additional_headers={"Authorization": f"Bearer {bearer}"},
            max_queue=None,
            open_timeout=60,
            ping_interval=None,
        )
        await _handshake(agent, {"type": "hello", "last_seq": 0})
        return visitor, agent

    return open_pair


def relay_pairs(base: str) -> Any:
    async def open_pair(n: int) -> tuple[ClientConnection, ClientConnection]:
        visitor = await connect(
            f"{base}/pair/{n}/visitor", max_queue=None, open_timeout=60, ping_interval=None
        )
        agent = await connect(f"{base}/pair/{n}/agent", max_queue=None, open_timeout=60, ping_interval=None)
        return visitor, agent

    return open_pair


def _wait_for(port: int) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def measure(clients: int, joins: str, paced_only: bool) -> None:
    pairs = clients // 2
    with tempfile.TemporaryDirectory() as scratch:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch}/bench.db"
        bearer, chats = prepare(url, pairs, join=joins == "setup")
        port, relay_port = free_port(), free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "OPSDESK_DATABASE_URL": url,
            "OPSDESK_DATA_DIR": scratch,
            "OPSDESK_SECRET_KEY": secrets.token_hex(8),
            "OPSDESK_REDIS_URL": "",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from opsdesk.cli import main; main()",
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        relay = subprocess.Popen([sys.executable, "-c", RELAY, str(relay_port)])
        try:
            _wait_for(port)
            _wait_for(relay_port)
            results = {}
            for paced in (True,) if paced_only else (True, False):
                ours = asyncio.run(
                    run_load(opsdesk_pairs(f"ws://127.0.0.1:{port}", bearer, chats), pairs, paced)
                )
                anchor = asyncio.run(run_load(relay_pairs(f"ws://127.0.0.1:{relay_port}"), pairs, paced))
                results[paced] = (ours, anchor)
        finally:
            for process in (server, relay):
                process.terminate()
                process.wait()
    for paced, (ours, anchor) in results.items():
        load = f"paced {RATE:g}/s" if paced else "capacity"
        load = f"{load} joins@{joins}"
        for name, result in (("opsdesk", ours), ("relay (websockets, no storage)", anchor)):
            print(
                f"{clients:>5} clients  {load:<24} {name:<32} {result['messages_per_s']:8.1f} msg/s  "
                f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  lost {int(result['lost'])}"
            )
        ratio = ours["messages_per_s"] / anchor["messages_per_s"]
        print(f"{clients:>5} clients  {load:<24} ratio opsdesk / relay throughput: {ratio:.3f}")
    ours = results[True][0]
    if clients >= 2000:
        met = ours["p99_ms"] < 150 and ours["messages_per_s"] >= 0.95 * RATE and ours["lost"] == 0
        print(
            f"target p99 < 150 ms at {clients} clients and {RATE:g} msg/s, 0 lost (joins@{joins}): "
            f"{'met' if met else 'NOT met'} (p99 {ours['p99_ms']:.0f} ms, {ours['messages_per_s']:.0f} msg/s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", choices=("setup", "load", "both"), default="both")
    parser.add_argument("--paced-only", action="store_true", help="skip the capacity loads")
    args = parser.parse_args()
    print(f"every pair alternates {ROUNDS} turns each way; paced at {RATE:g} msg/s in all, then at capacity")
    for size in SIZES:
        for joins in ("setup", "load") if args.joins == "both" else (args.joins,):
            measure(size, joins, args.paced_only)
