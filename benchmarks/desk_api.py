"""Desk API throughput and latency over real HTTP on PostgreSQL, against plain psycopg inserts of the
same rows, in the same run.

Anchor: for each ticket, one transaction of plain psycopg INSERTs of what a ticket creation stores
(the ticket, its tag, its first message, the ticket_created and message_added events), at the same
client concurrency as the API run, and once sequentially on one connection. (The API also keeps its
SLA bookkeeping, the ticket's due time and check row, which the anchor leaves out.)

API: the application as `opsdesk serve` builds it (opsdesk.web.server:served_app), served by uvicorn
with as many worker processes as `opsdesk serve` starts on PostgreSQL (2 x CPUs + 1; BENCH_API_WORKERS
overrides), access log off, on a loopback port; an agent
creates tickets (POST /api/v1/tickets) and replies to each (POST /api/v1/tickets/{n}/messages),
authenticated by an API token. Every request does what production does: token check, sanitising,
events, SLA refresh under an active policy (first reply, next reply and resolution targets for normal
priority, so each change computes real clocks), the outbound-email queue row for the reply, one commit.

Runs: ROUNDS (3; BENCH_ROUNDS overrides) interleaved rounds, each the raw anchors then the API
saturated (closed loop, CONCURRENCY requests in flight) on the same database, so that a drift of the
machine's speed falls on both sides and the target is judged on the median round; then a paced run
(open loop, 100 requests/second for PACED_SECONDS) for latency at that rate.
Targets (issue 2): API ticket creations/second >= 1/3 of the rate of plain psycopg inserts of the same
rows, one transaction per ticket: a plain insert loop on one connection; paced p99 < 50 ms. The raw
rate at CONCURRENCY connections is printed beside it, with the CPU that each side spends per ticket:
PostgreSQL, server and client share the machine's cores, so that ratio is bounded by CPU per ticket.
The machine's load average is printed beside each run: on a shared machine the numbers move with it.
So is how many of the client's keep-alive connections each server worker holds: a worker keeps what it
accepted, and one worker taking most of a burst of connections caps the run at what it can serve.

Needs PostgreSQL at BENCH_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres); creates
and drops the scratch database opsdesk_bench.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from _http_load import Recorder, Reply, closed_loop, open_loop

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "opsdesk_bench"
CONCURRENCY = 8
TICKETS = 2000
RAW_TICKETS = 3000
API_WORKERS = int(os.environ.get("BENCH_API_WORKERS", "0"))
PACED_RATE = 100
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PACED_SECONDS = 10
INSERT_TICKET = """
    INSERT INTO tickets (subject, status, priority, channel, requester_id, tier, sensitive, custom_fields,
                         created_at, updated_at)
    VALUES (%s, 'new', 'normal', 'api', %s, 'L1', false, '{}', %s, %s) RETURNING id"""
INSERT_MESSAGE = """
    INSERT INTO messages (ticket_id, author_id, author_kind, public, channel, body_html, body_text,
                          created_at)
    VALUES (%s, %s, 'requester', true, 'api', %s, %s, %s) RETURNING id"""
INSERT_TAG = "INSERT INTO ticket_tags (ticket_id, tag) VALUES (%s, 'export')"
INSERT_EVENT = """
    INSERT INTO events (at, actor_id, subject_type, subject_id, type, data)
    VALUES (%s, %s, 'ticket', %s, %s, %s)"""
BODY = "Hello, the export of my monthly report fails with an error since yesterday. " * 4


def bench_url(driver: str = "") -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    if driver:
        base = base.replace("postgresql://", f"postgresql+{driver}://", 1)
    return f"{base}/{DB_NAME}"


def recreate_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def seed() -> tuple[str, list[int]]:
    """Schema from the models, one agent with a token, requesters to write for."""
    from opsdesk.core import actions
    from opsdesk.core.clock import SystemClock
    from opsdesk.core.database import make_engine, make_session_factory, transaction
    from opsdesk.core.models import Role, Tier
    from opsdesk.desk.sla.actions import create_sla_policy
    from opsdesk.schema import metadata

    engine = make_engine(bench_url("psycopg"))
    metadata.create_all(engine)
    clock = SystemClock()
    with transaction(make_session_factory(engine)) as session:
        org = actions.create_organisation(session, name="Acme", clock=clock)
        agent = actions.create_user(
            session, email="agent@bench.test", name="Agent", role=Role.AGENT, tier=Tier.L1, clock=clock
        )
        requesters = [
            actions.create_user(
                session,
                email=f"r{i}@acme.test",
                name=f"R {i}",
                role=Role.REQUESTER,
                organisation=org,
                clock=clock,
            )
            for i in range(50)
        ]
        _row, token = actions.create_api_token(session, user=agent, name="bench", clock=clock)
        create_sla_policy(
            session,
            name="Standard",
            targets={"normal": {"first_reply": 60, "next_reply": 120, "resolution": 480}},
            actor=None,
            clock=clock,
        )
        session.flush()
        ids = [r.id for r in requesters]
    engine.dispose()
    return token, ids


def raw_inserts(requester_ids: list[int], count: int, threads: int, meter: CpuMeter) -> float:
    """Ticket creations per second as plain psycopg INSERTs, one transaction per ticket. The connections
    are open before ``meter`` starts and close after it stops (a closed backend's CPU leaves /proc)."""
    jobs: queue.Queue[int] = queue.Queue()
    for i in range(count):
        jobs.put(i)
    connections = [psycopg.connect(bench_url()) for _ in range(threads)]

    def worker(conn: psycopg.Connection[Any]) -> None:
        while True:
            try:
                i = jobs.get_nowait()
            except queue.Empty:
                return
            now = datetime.now(UTC)
            requester = requester_ids[i % len(requester_ids)]
            with conn.transaction():
                ticket_id = conn.execute(INSERT_TICKET, (f"Raw ticket {i}", requester, now, now)).fetchone()[
                    0
                ]  # type: ignore[index]
                conn.execute(INSERT_TAG, (ticket_id,))
                message_id = conn.execute(
                    INSERT_MESSAGE, (ticket_id, requester, f"<p>{BODY}</p>", BODY, now)
                ).fetchone()[0]  # type: ignore[index]
                for type_, data in (
                    ("ticket_created", {"channel": "api", "status": "new", "requester_id": requester}),
                    (
                        "message_added",
                        {"message_id": message_id, "public": True, "author_kind": "requester"},
                    ),
                ):
                    conn.execute(INSERT_EVENT, (now, requester, ticket_id, type_, json.dumps(data)))

    with meter:
        started = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(conn,)) for conn in connections]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - started
    for conn in connections:
        conn.close()
    time.sleep(1)  # let the postmaster reap the closed backends, or their CPU lands in the next run
    return count / elapsed


def _proc_stat(pid: int | str) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def _proc_cpu(pid: int | str, *, reaped: bool = False) -> float:
    """utime + stime, and with ``reaped`` the CPU of children that exited (cutime + cstime)."""
    fields = _proc_stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the uvicorn workers), from /proc."""
    pids = [pid]
    children = f"/proc/{pid}/task/{pid}/children"
    if os.path.exists(children):
        with open(children) as fh:
            pids += [int(p) for p in fh.read().split()]
    return sum(_proc_cpu(p) for p in pids)


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process (backends, WAL writer, checkpointer), counting those that
    have exited through the postmaster, which reaps them: pools close overflow connections mid-run."""
    comm: dict[str, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    comm[entry] = fh.read().strip()
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    total = 0.0
    for pid, name in comm.items():
        if name != "postgres":
            continue
        try:
            postmaster = comm.get(_proc_stat(pid)[1]) != "postgres"
            total += _proc_cpu(pid, reaped=postmaster)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def connections_per_worker(server_pid: int, port: int) -> list[int]:
    """How many established connections to ``port`` each worker process of the server holds, from
    /proc: a worker keeps every connection it accepted, so this is how the load can split at most."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as fh:
            for row in fh.readlines()[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                    inodes.add(fields[9])
    counts = []
    with open(f"/proc/{server_pid}/task/{server_pid}/children") as fh:
        children = [int(p) for p in fh.read().split()]
    workers = [pid for pid in children if b"spawn_main" in _cmdline(pid)]  # not multiprocessing's helpers
    for worker in workers:
        held = 0
        for fd in os.listdir(f"/proc/{worker}/fd"):
            try:
                target = os.readlink(f"/proc/{worker}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts.append(held)
    return sorted(counts, reverse=True)


class CpuMeter:
    """CPU spent per item during a run, by the server, by PostgreSQL and by this process (the client)."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.start = self._now()
        return self

    def __exit__(self, *_: object) -> None:
        self.spent = [b - a for a, b in zip(self.start, self._now(), strict=True)]

    def _now(self) -> tuple[float, float, float]:
        server = server_cpu(self.server_pid) if self.server_pid else 0.0
        return server, postgres_cpu(), time.process_time()

    def per_item_ms(self, items: int) -> tuple[float, float, float]:
        """(server, PostgreSQL, client) milliseconds of CPU per item."""
        server, postgres, client = (x * 1000 / max(items, 1) for x in self.spent)
        return server, postgres, client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_workers() -> int:
    from opsdesk.core.settings import Settings
    from opsdesk.web.server import default_workers

    return API_WORKERS or default_workers(Settings(database_url=bench_url("psycopg")))


def start_server(data_dir: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": bench_url("psycopg"),
        "OPSDESK_DATA_DIR": data_dir,
        "OPSDESK_SECRET_KEY": "bench",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "opsdesk.web.server:served_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the API server did not start")


def paced(url: str, token: str, requester_ids: list[int]) -> Recorder:
    """Open loop, PACED_RATE requests/second for PACED_SECONDS: ticket creations alternating with replies
    to the ticket created just before."""
    numbers: asyncio.Queue[int] = asyncio.Queue()

    async def request(k: int) -> tuple[str, str, Any]:
        if k % 2 == 0:
            body = {"subject": f"Paced {k}", "body_text": BODY, "requester_id": requester_ids[k % 50]}
            return "create", "/api/v1/tickets", body
        return "reply", f"/api/v1/tickets/{await numbers.get()}/messages", {"body_text": "On it"}

    def done(kind: str, reply: Reply) -> None:
        if kind == "create" and reply.status == 201:
            numbers.put_nowait(reply.json()["number"])

    return open_loop(url, token, rate=PACED_RATE, seconds=PACED_SECONDS, request=request, done=done)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def line(name: str, values: list[float], seconds: float | None = None) -> str:
    rate = f"{len(values) / seconds:6.0f}/s  " if seconds else ""
    p50, p99 = pct(values, 0.5), pct(values, 0.99)
    return f"  {name:30s} {rate}p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  (n={len(values)})"


@dataclass
class Round:
    """One interleaved round: the raw anchors, then the API on the same database, back to back."""

    raw_seq: float
    raw_par: float
    raw_cpu: CpuMeter
    creates: Recorder
    create_s: float
    create_cpu: CpuMeter
    replies: Recorder
    reply_s: float
    reply_cpu: CpuMeter
    load: str
    spread: list[int]

    @property
    def api_rate(self) -> float:
        return len(self.creates.latencies["create"]) / self.create_s

    def report(self, n: int) -> None:
        print(f"Round {n} ({self.load} before it)")
        print(f"  raw psycopg INSERTs, 1 connection   {self.raw_seq:6.0f}/s")
        print(f"  raw psycopg INSERTs, {CONCURRENCY} connections  {self.raw_par:6.0f}/s")
        print(
            line(f"API POST tickets, {CONCURRENCY} clients", self.creates.latencies["create"], self.create_s)
        )
        print(f"    its keep-alive connections held per worker process: {self.spread}")
        print(
            line(f"API POST messages, {CONCURRENCY} clients", self.replies.latencies["reply"], self.reply_s)
        )
        print(
            f"  API / raw: {self.api_rate / self.raw_seq:.2f} of the insert loop on 1 connection, "
            f"{self.api_rate / self.raw_par:.2f} of {CONCURRENCY} connections"
        )
        _, raw_pg, raw_client = self.raw_cpu.per_item_ms(RAW_TICKETS)
        server_ms, pg_ms, client_ms = self.create_cpu.per_item_ms(TICKETS)
        reply_server, reply_pg, _ = self.reply_cpu.per_item_ms(TICKETS)
        print(
            f"  CPU ms per ticket created: raw = psycopg client {raw_client:.2f} + PostgreSQL {raw_pg:.2f} "
            f"= {raw_client + raw_pg:.2f}; API = server {server_ms:.2f} + PostgreSQL {pg_ms:.2f} "
            f"+ load client {client_ms:.2f} = {server_ms + pg_ms + client_ms:.2f}"
        )
        print(f"  CPU ms per reply: server {reply_server:.2f} + PostgreSQL {reply_pg:.2f}")


def one_round(url: str, token: str, requesters: list[int], server_pid: int) -> Round:
    load_before = load()
    raw_seq = raw_inserts(requesters, RAW_TICKETS // 3, threads=1, meter=CpuMeter())
    raw_cpu = CpuMeter()
    raw_par = raw_inserts(requesters, RAW_TICKETS, threads=CONCURRENCY, meter=raw_cpu)

    def create(i: int) -> tuple[str, str, Any]:
        body = {"subject": f"Export fails #{i}", "body_text": BODY, "tags": ["export"]}
        return "create", "/api/v1/tickets", {**body, "requester_id": requesters[i % 50]}

    spread: list[int] = []

    def see_spread() -> None:
        spread.extend(connections_per_worker(server_pid, int(url.rsplit(":", 1)[1])))

    with CpuMeter(server_pid) as create_cpu:
        creates, create_s = closed_loop(
            url, token, clients=CONCURRENCY, count=TICKETS, request=create, on_open=see_spread
        )
    numbers = creates.numbers

    def reply(i: int) -> tuple[str, str, Any]:
        body = {"body_html": "<p>Thanks, we are <b>looking into it</b>.</p>"}
        return "reply", f"/api/v1/tickets/{numbers[i]}/messages", body

    with CpuMeter(server_pid) as reply_cpu:
        replies, reply_s = closed_loop(url, token, clients=CONCURRENCY, count=len(numbers), request=reply)
    return Round(
        raw_seq,
        raw_par,
        raw_cpu,
        creates,
        create_s,
        create_cpu,
        replies,
        reply_s,
        reply_cpu,
        load_before,
        spread,
    )


def main() -> None:
    try:
        recreate_database()
    except psycopg.OperationalError as exc:
        sys.exit(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    server = None
    try:
        token, requesters = seed()
        with tempfile.TemporaryDirectory() as data_dir:
            server, url = start_server(data_dir, api_workers())

            def warm(i: int) -> tuple[str, str, Any]:
                body = {"subject": f"Warm-up {i}", "body_text": BODY, "requester_id": requesters[i % 50]}
                return "create", "/api/v1/tickets", body

            closed_loop(url, token, clients=CONCURRENCY, count=200, request=warm)  # imports, pools, caches
            rounds = [one_round(url, token, requesters, server.pid) for _ in range(ROUNDS)]
            paced_load = load()
            steady = paced(url, token, requesters)
        print(
            "Ticket creation on PostgreSQL (ticket, tag, first message, events; one transaction each), "
            f"API with {api_workers()} worker process(es), {os.cpu_count()} cores"
        )
        for n, result in enumerate(rounds, 1):
            result.report(n)
        seq_ratios = sorted(r.api_rate / r.raw_seq for r in rounds)
        par_ratios = sorted(r.api_rate / r.raw_par for r in rounds)
        median_seq, median_par = statistics.median(seq_ratios), statistics.median(par_ratios)
        verdict = "met" if median_seq >= 1 / 3 else "NOT met"
        each = ", ".join(f"{r:.2f}" for r in seq_ratios)
        print(
            f"API / raw over {ROUNDS} interleaved rounds: median {median_seq:.2f} of the plain insert loop "
            f"on 1 connection (target >= 0.33: {verdict}; rounds {each}); "
            f"median {median_par:.2f} of {CONCURRENCY} connections"
        )
        both = steady.latencies["create"] + steady.latencies["reply"]
        print(
            f"Paced, open loop, {PACED_RATE} req/s for {PACED_SECONDS} s "
            f"(create and reply alternating; {paced_load})"
        )
        print(line("all requests", both))
        for kind, values in steady.latencies.items():
            print(line(kind, values))
        print(f"  target p99 < 50 ms: {'met' if pct(both, 0.99) < 50 else 'NOT met'}")
        errors = [e for r in rounds for e in r.creates.errors + r.replies.errors] + steady.errors
        print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:5]))
        if errors:
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        drop_database()


if __name__ == "__main__":
    main()
