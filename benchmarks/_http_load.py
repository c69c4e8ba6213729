"""A lean HTTP/1.1 load generator for the desk API benchmark.

The server under test and its load share the machine's two cores, so every millisecond the client
spends is one the server cannot. httpx in threads costs about 0.8 ms of CPU per request here, as much
as a fifth of what the server spends; this client, one asyncio loop writing pre-encoded requests on
keep-alive connections (what wrk does), costs a small fraction of that. It speaks just enough HTTP
for our own server: Content-Length bodies, no chunked responses, no redirects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

KEEP_ALIVE_REUSE = 2.0  # seconds a connection may sit idle and still be reused


class ProtocolError(Exception):
    """The server answered with something this client does not parse."""


@dataclass
class Reply:
    status: int
    body: bytes
    retry_after: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection; requests on it go one after the other."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str):
        self.reader, self.writer = reader, writer
        self.head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        self.last_used = time.monotonic()

    @classmethod
    async def open(cls, host: str, port: int, token: str) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}", token)

    async def post(self, path: str, payload: Any) -> Reply:
        return await self.send("POST", path, payload)

    async def send(self, method: str, path: str, payload: Any = None) -> Reply:
        """One request and its answer; ``payload`` is sent as a JSON body unless it is None."""
        body = b"" if payload is None else json.dumps(payload).encode()
        length = f"Content-Length: {len(body)}\r\n" if payload is not None else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{length}\r\n".encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ProtocolError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length_in = 0
        retry_after = None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length_in = int(value)
            elif name.lower() == b"retry-after":
                retry_after = value.strip().decode()
            elif name.lower() == b"transfer-encoding":
                raise ProtocolError("chunked responses are not supported")
        data = await self.reader.readexactly(length_in)
        self.last_used = time.monotonic()
        return Reply(status, data, retry_after)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Recorder:
    """Latencies per kind of request, and the requests that did not get the status expected."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {"create": [], "reply": []})
    numbers: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, kind: str, reply: Reply, expect: int, started: float) -> None:
        self.latencies[kind].append(time.perf_counter() - started)
        if reply.status != expect:
            self.errors.append(f"{kind}: HTTP {reply.status} {reply.body[:200]!r}")
        elif kind == "create":
            self.numbers.append(reply.json()["number"])


Request = Callable[[int], tuple[str, str, Any]]  # i -> (kind, path, json body)


POOL_PER_CLIENT = 4  # keep-alive connections in the pool per concurrent request


async def _closed_loop(
    host: str,
    port: int,
    token: str,
    clients: int,
    count: int,
    request: Request,
    on_open: Callable[[], None] | None = None,
) -> Recorder:
    """``clients`` requests in flight at all times, each on the connection idle longest in a shared
    keep-alive pool, as a reverse proxy sends to an upstream. With several server worker processes this
    matters: each worker keeps the connections it accepted, and a client pinned to one connection
    would leave the load split however the accepts fell; a pool moves requests to the connections
    that answer sooner."""
    rec = Recorder()
    jobs = iter(range(count))
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    pool = [await Connection.open(host, port, token) for _ in range(clients * POOL_PER_CLIENT)]
    for conn in pool:
        idle.put_nowait(conn)
    if on_open is not None:
        await asyncio.sleep(0.05)  # let the server's workers take the connections from the backlog
        on_open()

    async def client() -> None:
        for i in jobs:
            kind, path, payload = request(i)
            conn = await idle.get()
            started = time.perf_counter()
            try:
                reply = await conn.post(path, payload)
            finally:
                idle.put_nowait(conn)
            rec.record(kind, reply, 201, started)

    try:
        await asyncio.gather(*(client() for _ in range(clients)))
    finally:
        for conn in pool:
            conn.close()
    return rec


def closed_loop(
    url: str,
    token: str,
    *,
    clients: int,
    count: int,
    request: Request,
    on_open: Callable[[], None] | None = None,
) -> tuple[Recorder, float]:
    """``count`` requests, ``clients`` at a time back to back; returns the recorder and seconds.
    ``on_open`` is called once the connections are open, before the first request."""
    host, port = _host_port(url)
    started = time.perf_counter()
    rec = asyncio.run(_closed_loop(host, port, token, clients, count, request, on_open))
    return rec, time.perf_counter() - started


PacedRequest = Callable[[int], Awaitable[tuple[str, str, Any]]]  # k -> (kind, path, json body), may wait


async def _open_loop(
    host: str,
    port: int,
    token: str,
    rate: float,
    total: int,
    request: PacedRequest,
    done: Callable[[str, Reply], None],
) -> Recorder:
    rec = Recorder()
    idle: list[Connection] = []
    opened: list[Connection] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(k: int) -> None:
        due = start + k / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        kind, path, payload = await request(k)
        # Latency counts from when the request was due (or, for a reply, from when its ticket existed),
        # so a client-side wait for a connection or a late wake-up is charged to it, not hidden.
        started = (
            time.perf_counter() - max(0.0, loop.time() - due) if kind == "create" else time.perf_counter()
        )
        while idle and time.monotonic() - idle[-1].last_used > KEEP_ALIVE_REUSE:
            idle.pop().close()  # the server may be closing it (uvicorn drops idle ones after 5 s)
        if idle:
            conn = idle.pop()
        else:
            conn = await Connection.open(host, port, token)
            opened.append(conn)
        try:
            reply = await conn.post(path, payload)
            rec.record(kind, reply, 201, started)
            done(kind, reply)
        finally:
            idle.append(conn)

    await asyncio.gather(*(one(k) for k in range(total)))
    for conn in opened:
        conn.close()
    return rec


def open_loop(
    url: str,
    token: str,
    *,
    rate: float,
    seconds: float,
    request: PacedRequest,
    done: Callable[[str, Reply], None],
) -> Recorder:
    """Request k is due at start + k / rate whatever earlier ones are doing; ``done`` sees each reply."""
    host, port = _host_port(url)
    return asyncio.run(_open_loop(host, port, token, rate, int(rate * seconds), request, done))


def _host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port)
