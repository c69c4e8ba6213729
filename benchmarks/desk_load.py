"""Mixed desk API traffic from many keep-alive clients against `opsdesk serve` on PostgreSQL, then on
SQLite: does the server answer everyone, quickly, whatever the number of clients (issue 9)?

Server: the real `opsdesk serve` command (its default worker count, background jobs in the parent
process, its access log to a file) on a loopback port, on a scratch PostgreSQL database of its own
(opsdesk_load, created and dropped here), then on a scratch SQLite file.
Traffic: CLIENTS keep-alive clients, one connection each, every client sending its next request as
soon as the last is answered (a closed loop), in equal shares: ticket creations, replies to a random
earlier ticket, single-ticket reads and 50-ticket list pages, authenticated by an agent's API token,
with an SLA policy active. A client that is answered 503 waits what `Retry-After` says, as a
well-behaved integration does.
Levels: 4, 16, 64 and 256 clients on PostgreSQL, BENCH_SECONDS (60) each, each from the same seeded
database and a freshly started server, then 16 clients on SQLite.
Per level: throughput (answered requests that did what they asked, per second), p50 and p99 latency
of every answer, 503s, errors and hangs, and the sessions left "idle in transaction" for over
IDLE_SECONDS once the clients are gone (PostgreSQL).
Counting: a 503 with `Retry-After` is the server's documented "busy, retry" answer to overload, so it is
reported on its own and is not an error; an error is any other unexpected status, a 503 without
`Retry-After`, or a broken connection; a hang is a request unanswered after HANG_SECONDS.
Targets (issue 9): 0 errors and 0 hangs at every level; p99 under 1 s at 64 clients; throughput at 64
clients not below that at 16; on SQLite at 16 clients 0 errors and 0 hangs.
The machine's load average is printed beside each level: on a shared machine the numbers move with it.

Needs PostgreSQL at BENCH_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import psycopg

from _http_load import Connection, ProtocolError

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "opsdesk_load"
SEED_DB_NAME = "opsdesk_load_seed"  # the seeded desk every PostgreSQL level starts from
# BENCH_LEVELS=64,256 runs only those levels (a quick look; the targets need all four).
LEVELS = tuple(int(n) for n in os.environ.get("BENCH_LEVELS", "4,16,64,256").split(","))
SQLITE_CLIENTS = 16
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
HANG_SECONDS = 10.0
IDLE_SECONDS = 2.0
SEED_TICKETS = 500
KINDS = ("create", "reply", "read", "list")
EXPECTED = {"create": 201, "reply": 201, "read": 200, "list": 200}
BODY = "Hello, the export of my monthly report fails with an error since yesterday. " * 4


def pg_url(driver: str = "") -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    if driver:
        base = base.replace("postgresql://", f"postgresql+{driver}://", 1)
    return f"{base}/{DB_NAME}"


def admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(statement)


@dataclass
class Desk:
    token: str
    requesters: list[int]
    numbers: list[int]


def seed(url: str) -> Desk:
    """Schema from the models, an agent with a token, requesters, an SLA policy, SEED_TICKETS tickets."""
    from opsdesk.core import actions
    from opsdesk.core.clock import SystemClock
    from opsdesk.core.database import make_engine, make_session_factory, transaction
    from opsdesk.core.models import Role, Tier
    from opsdesk.desk import actions as desk_actions
    from opsdesk.desk.models import Channel
    from opsdesk.desk.sla.actions import create_sla_policy
    from opsdesk.schema import metadata

    engine = make_engine(url)
    metadata.create_all(engine)
    clock = SystemClock()
    with transaction(make_session_factory(engine)) as session:
        org = actions.create_organisation(session, name="Acme", clock=clock)
        agent = actions.create_user(
            session, email="agent@load.test", name="Agent", role=Role.AGENT, tier=Tier.L1, clock=clock
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
        _row, token = actions.create_api_token(session, user=agent, name="load", clock=clock)
        create_sla_policy(
            session,
            name="Standard",
            targets={"normal": {"first_reply": 60, "next_reply": 120, "resolution": 480}},
            actor=None,
            clock=clock,
        )
        tickets = [
            desk_actions.create_ticket(
                session,
                requester=requesters[i % 50],
                subject=f"Seeded {i}",
                body_text=BODY,
                channel=Channel.API,
                clock=clock,
            )
            for i in range(SEED_TICKETS)
        ]
        session.flush()
        desk = Desk(token, [r.id for r in requesters], [t.id for t in tickets])
    engine.dispose()
    return desk


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(database_url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], int]:
    """`opsdesk serve` in a session of its own (so it and its workers stop together), logging to a file."""
    port = free_port()
    env = {**os.environ, "OPSDESK_DATABASE_URL": database_url, "OPSDESK_DATA_DIR": data_dir}
    env["OPSDESK_SECRET_KEY"] = "load"
    log = open(Path(data_dir) / "serve.log", "wb")  # noqa: SIM115 - the server writes it until it stops
    command = [sys.executable, "-c", "from opsdesk.cli import main; main()", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180  # workers start slowly on a busy machine
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"opsdesk serve exited with {server.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server, port
        except httpx.TransportError:
            time.sleep(0.2)
    stop_serve(server)
    raise SystemExit("opsdesk serve did not answer within 180 s")


def stop_serve(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@dataclass
class Level:
    """What one level's clients saw."""

    database: str
    clients: int
    load: str
    seconds: float = 0.0
    done: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    busy: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    hangs: int = 0
    idle_in_transaction: list[str] | None = None  # the last statement of each such session

    @property
    def answered(self) -> list[float]:
        return [t for kind in KINDS for t in self.done[kind]] + self.busy

    @property
    def throughput(self) -> float:
        return sum(len(v) for v in self.done.values()) / self.seconds

    @property
    def sound(self) -> bool:
        return not self.errors and not self.hangs

    def report(self) -> None:
        all_ = self.answered
        kinds = "  ".join(f"{k} p50 {pct(self.done[k], 0.5):.0f}" for k in KINDS)
        idle = ""
        if self.idle_in_transaction is not None:
            idle = f"  idle in transaction after: {len(self.idle_in_transaction)}"
        print(
            f"  {self.database:10s} {self.clients:3d} clients  {self.throughput:6.0f} req/s  "
            f"p50 {pct(all_, 0.5):7.1f} ms  p99 {pct(all_, 0.99):7.1f} ms  503s {len(self.busy):5d}"
            f" (p50 {pct(self.busy, 0.5):.0f} ms)  errors {len(self.errors)}  hangs {self.hangs}{idle}"
        )
        print(f"      ms by kind: {kinds}  ({self.load} before)")
        for error in self.errors[:3]:
            print(f"      {error}")
        for statement in (self.idle_in_transaction or [])[:3]:
            print(f"      idle in transaction after: {statement[:150]}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


async def drive(level: Level, port: int, desk: Desk, seconds: float) -> None:
    """``level.clients`` clients, each on its own keep-alive connection, for ``seconds``."""
    rng = random.Random(level.clients)
    loop = asyncio.get_running_loop()

    def request(kind: str, i: int) -> tuple[str, str, object]:
        if kind == "create":
            body = {"subject": f"Load {i}", "body_text": BODY, "requester_id": desk.requesters[i % 50]}
            return "POST", "/api/v1/tickets", body
        number = rng.choice(desk.numbers)
        if kind == "reply":
            return "POST", f"/api/v1/tickets/{number}/messages", {"body_html": "<p>We are on it.</p>"}
        if kind == "read":
            return "GET", f"/api/v1/tickets/{number}", None
        return "GET", "/api/v1/tickets?limit=50", None

    async def connect() -> Connection:
        return await Connection.open("127.0.0.1", port, desk.token)

    async def client(c: int, conn: Connection, deadline: float) -> None:
        i = c
        while loop.time() < deadline:
            kind = KINDS[i % len(KINDS)]
            method, path, payload = request(kind, i)
            i += 1
            started = time.perf_counter()
            try:
                reply = await asyncio.wait_for(conn.send(method, path, payload), HANG_SECONDS)
            except TimeoutError:
                level.hangs += 1
                conn.close()
                conn = await connect()
                continue
            except (ProtocolError, OSError, asyncio.IncompleteReadError) as exc:
                level.errors.append(f"{kind}: {type(exc).__name__} {exc}")
                conn.close()
                conn = await connect()
                continue
            elapsed = time.perf_counter() - started
            if reply.status == 503 and reply.retry_after is not None:
                level.busy.append(elapsed)
                await asyncio.sleep(float(reply.retry_after))
            elif reply.status == EXPECTED[kind]:
                level.done[kind].append(elapsed)
                if kind == "create":
                    desk.numbers.append(reply.json()["number"])
            else:
                level.errors.append(f"{kind}: HTTP {reply.status} {reply.body[:200]!r}")
        conn.close()

    connections = await asyncio.gather(*(connect() for _ in range(level.clients)))
    started = loop.time()
    await asyncio.gather(*(client(c, conn, started + seconds) for c, conn in enumerate(connections)))
    level.seconds = loop.time() - started


def idle_in_transaction() -> list[str]:
    """The last statement of every session of the scratch database that has sat in a transaction,
    doing nothing, for over IDLE_SECONDS: the stall's signature (it held them for minutes). A shorter
    idle spell is a transaction between two statements of a process the busy machine has descheduled.
    Counts the background jobs' sessions in the parent process as well as the web workers'."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = %s AND state LIKE 'idle in transaction%%' "
            "AND now() - state_change > make_interval(secs => %s)",
            (DB_NAME, IDLE_SECONDS),
        ).fetchall()
    return [" ".join(str(row[0]).split()) for row in rows]


def run_levels(database: str, database_url: str, levels: tuple[int, ...]) -> list[Level]:
    """Each PostgreSQL level starts from the seeded database (copied from a template) with a fresh
    server: otherwise a later level runs on the tickets the earlier ones created, and the comparison of
    levels mixes the effect of more clients with that of a larger desk."""
    results = []
    with tempfile.TemporaryDirectory() as data_dir:
        seed_url = database_url or f"sqlite:///{Path(data_dir) / 'opsdesk.db'}"
        desk = seed(seed_url)
        seeded = list(desk.numbers)
        if database_url:
            admin(f"CREATE DATABASE {SEED_DB_NAME} TEMPLATE {DB_NAME}")
        for clients in levels:
            if database_url and results:
                admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
                admin(f"CREATE DATABASE {DB_NAME} TEMPLATE {SEED_DB_NAME}")
            # The tickets this level's database holds: the seeded ones, then what this level creates
            # (numbers an earlier level created went with its database).
            own = replace(desk, numbers=list(seeded)) if database_url else desk
            server, port = start_serve(database_url, data_dir)
            try:
                asyncio.run(drive(Level(database, 16, load()), port, own, min(SECONDS, 3)))  # warm workers
                level = Level(database, clients, load())
                asyncio.run(drive(level, port, own, SECONDS))
                if database == "PostgreSQL":
                    time.sleep(IDLE_SECONDS + 1)
                    level.idle_in_transaction = idle_in_transaction()
                results.append(level)
                level.report()
            finally:
                stop_serve(server)
    return results


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    # A terminated run unwinds (each level's `finally` stops its server): by default SIGTERM ends Python
    # at once, leaving `opsdesk serve` connected to the scratch database the next run recreates.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    try:
        admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin(f"DROP DATABASE IF EXISTS {SEED_DB_NAME} WITH (FORCE)")
        admin(f"CREATE DATABASE {DB_NAME}")
    except psycopg.OperationalError as exc:
        sys.exit(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    print(
        f"Mixed API traffic (create, reply, read, list) against `opsdesk serve`, {SECONDS:g} s per level, "
        f"{os.cpu_count()} cores"
    )
    try:
        postgres = run_levels("PostgreSQL", pg_url("psycopg"), LEVELS)
    finally:
        admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin(f"DROP DATABASE IF EXISTS {SEED_DB_NAME} WITH (FORCE)")
    sqlite = run_levels("SQLite", "", (SQLITE_CLIENTS,))
    by_clients = {level.clients: level for level in postgres}
    sound = all(level.sound for level in postgres)
    print(f"target 0 errors and 0 hangs at every level on PostgreSQL: {verdict(sound)}")
    if 64 in by_clients:
        p99_64 = pct(by_clients[64].answered, 0.99)
        print(f"target p99 < 1 s at 64 clients: {verdict(p99_64 < 1000)} ({p99_64:.0f} ms)")
    if 64 in by_clients and 16 in by_clients:
        print(
            "target throughput at 64 clients >= at 16: "
            f"{verdict(by_clients[64].throughput >= by_clients[16].throughput)} "
            f"({by_clients[64].throughput:.0f} vs {by_clients[16].throughput:.0f} req/s)"
        )
    if 256 in by_clients:
        # Overload answers 503 quickly: a refusal is worth something only if it comes before the client
        # would have been served anyway, and shedding is what keeps the served requests' wait bounded.
        over = by_clients[256]
        served = [t for kind in KINDS for t in over.done[kind]]
        print(
            f"overload (256 clients): {len(over.busy)} answered 503, p99 {pct(over.busy, 0.99):.0f} ms; "
            f"served p50 {pct(served, 0.5):.0f} ms, p99 {pct(served, 0.99):.0f} ms"
        )
    print(f"target 0 errors and 0 hangs at {SQLITE_CLIENTS} clients on SQLite: {verdict(sqlite[0].sound)}")
    print(f"503s (busy, retry; not errors): {', '.join(f'{lv.clients}: {len(lv.busy)}' for lv in postgres)}")
    if not sound or not sqlite[0].sound:
        sys.exit(1)


if __name__ == "__main__":
    main()
