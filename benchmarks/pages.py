"""Page times on the demo and on the demo with five times the tickets and a year of daily health
snapshots, over real HTTP, in the same run.

Anchor: the same pages of the same application on the demo data set (`opsdesk demo`: six months of
tickets, 800 success accounts). Larger history: a copy of it whose tickets (with their messages and
tags) are repeated four more times, each copy half a year further back and solved or closed, and
whose accounts get a health snapshot for each of the last 367 days (800 x 367 = 293,600 rows), as
the six-hourly scoring job leaves them after a year.

Both databases are served at once (`opsdesk.web.server:served_app`, one uvicorn worker each, SQLite);
the pages are requested in turn on both, page by page, so a change of the machine's speed falls on
both. Signed in as the support lead (desk pages) and the CS lead (customer pages).
Targets: no page more than 1.5x slower (median) on the larger history; none over 300 ms (median) on
the demo.

BENCH_SCALE (default 1) shrinks the demo for a quick run (0.2: a fifth of the organisations, tickets
and accounts); BENCH_REPEATS (15) requests per page and database. BENCH_DEMO_DB and BENCH_LARGE_DB
name files that keep the two databases between runs: when a file exists it is copied (never changed)
instead of loading the demo (ten minutes) or growing its history (ten more); when it does not, the
database built is saved there. So the loading can happen while the machine is busy and the timing
later, when it is idle.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "15"))
DEMO_DB = os.environ.get("BENCH_DEMO_DB", "")
LARGE_DB = os.environ.get("BENCH_LARGE_DB", "")
COPIES = 4  # the demo's tickets again four times: five times the tickets
SNAPSHOT_DAYS = 367
MAX_RATIO = 1.5
MAX_DEMO_MS = 300.0
ROOT = Path(__file__).resolve().parents[1]


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


def load_demo(path: Path) -> None:
    from opsdesk.core.clock import SystemClock
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.demo import loader

    url = f"sqlite:///{path}"
    migrate(url)
    started = time.perf_counter()
    counts = loader.load_demo(
        make_session_factory(make_engine(url)),
        clock=SystemClock(),
        organisations=max(100, int(20_000 * SCALE)),
        tickets_per_day=max(20, int(800 * SCALE)),
        success_accounts=max(20, int(800 * SCALE)),
    )
    print(f"demo loaded in {time.perf_counter() - started:.0f} s: {counts}", flush=True)


def grow_history(path: Path) -> None:
    """Five times the tickets and a year of daily health snapshots, in bulk SQL on the copy."""
    import sqlite3

    started = time.perf_counter()
    db = sqlite3.connect(path)
    top_ticket = db.execute("SELECT max(id) FROM tickets").fetchone()[0]
    top_message = db.execute("SELECT max(id) FROM messages").fetchone()[0]
    days = db.execute(
        "SELECT julianday(max(created_at)) - julianday(min(created_at)) FROM tickets"
    ).fetchone()[0]
    shift_days = int(days) + 1
    columns = [row[1] for row in db.execute("PRAGMA table_info(tickets)")]
    moved = {
        "id": "id + {k} * {top}",
        "status": "CASE WHEN status IN ('solved', 'closed') THEN status ELSE 'closed' END",
        "follow_up_of_id": "follow_up_of_id + {k} * {top}",
        "merged_into_id": "merged_into_id + {k} * {top}",
        "sla_next_due_at": "NULL",
        "sla_check_at": "NULL",
        "external_id": "NULL",
    }
    for name in ("created_at", "updated_at", "solved_at", "closed_at"):
        moved[name] = f"datetime({name}, '-{{days}} days') || substr({name}, 20)"
    message_columns = [row[1] for row in db.execute("PRAGMA table_info(messages)")]
    message_moved = {
        "id": "id + {k} * {mtop}",
        "ticket_id": "ticket_id + {k} * {top}",
        "email_message_id": "NULL",
        "created_at": "datetime(created_at, '-{days} days') || substr(created_at, 20)",
    }
    for k in range(1, COPIES + 1):
        values = {"k": k, "top": top_ticket, "mtop": top_message, "days": k * shift_days}
        select = ", ".join(moved.get(c, c).format(**values) for c in columns)
        db.execute(
            f"INSERT INTO tickets ({', '.join(columns)}) "
            f"SELECT {select} FROM tickets WHERE id <= {top_ticket}"
        )
        select = ", ".join(message_moved.get(c, c).format(**values) for c in message_columns)
        db.execute(
            f"INSERT INTO messages ({', '.join(message_columns)}) "
            f"SELECT {select} FROM messages WHERE id <= {top_message}"
        )
        db.execute(
            f"INSERT INTO ticket_tags (ticket_id, tag) SELECT ticket_id + {k} * {top_ticket}, tag "
            f"FROM ticket_tags WHERE ticket_id <= {top_ticket}"
        )
        db.commit()
        print(f"  copy {k} of the tickets added ({time.perf_counter() - started:.0f} s)", flush=True)
    # A snapshot for every account on every one of the last SNAPSHOT_DAYS days, copying the latest one.
    db.execute(
        f"""
        WITH RECURSIVE back(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM back WHERE n < {SNAPSHOT_DAYS - 1}),
        latest AS (
            SELECT s.* FROM success_health_scores s
            WHERE s.id = (SELECT id FROM success_health_scores t WHERE t.account_id = s.account_id
                          ORDER BY scored_on DESC LIMIT 1)
        )
        INSERT INTO success_health_scores (account_id, scored_on, scorecard_id, score, band,
            effective_score, effective_band, override_id, measures, computed_at)
        SELECT l.account_id, date('now', '-' || back.n || ' days'), l.scorecard_id, l.score, l.band,
            l.effective_score, l.effective_band, l.override_id, l.measures, l.computed_at
        FROM latest l CROSS JOIN back
        WHERE NOT EXISTS (
            SELECT 1 FROM success_health_scores x
            WHERE x.account_id = l.account_id AND x.scored_on = date('now', '-' || back.n || ' days')
        )
        """
    )
    db.commit()
    for table in ("tickets", "messages", "success_health_scores"):
        print(f"  {table}: {db.execute(f'SELECT count(*) FROM {table}').fetchone()[0]:,} rows")
    db.close()
    print(f"larger history built in {time.perf_counter() - started:.0f} s", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(path: Path, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": f"sqlite:///{path}",
        "OPSDESK_DATA_DIR": str(data_dir),
        "OPSDESK_SECRET_KEY": "bench",
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "opsdesk.web.server:served_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start")


def signed_in(url: str, email: str) -> httpx.Client:
    from opsdesk.demo.people import DEMO_PASSWORD

    client = httpx.Client(base_url=url, timeout=120)
    form = client.get("/signin")
    token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/signin", data={"email": email, "password": DEMO_PASSWORD, "signin_csrf": token.group(1)}
    )
    if answer.status_code != 303:
        raise SystemExit(f"sign-in as {email} failed: {answer.status_code}")
    return client


def pages(path: Path) -> list[tuple[str, str]]:
    """(who, path): the pages timed, picked on the demo so both databases answer the same requests."""
    import sqlite3

    db = sqlite3.connect(path)
    recent = db.execute(
        "SELECT t.id, u.email FROM tickets t JOIN users u ON u.id = t.requester_id "
        "WHERE t.sensitive = 0 ORDER BY t.id DESC LIMIT 1"
    ).fetchone()
    account = db.execute(
        "SELECT id FROM success_accounts WHERE organisation_id IS NOT NULL ORDER BY id LIMIT 1"
    ).fetchone()[0]
    db.close()
    desk = [
        "/",
        "/tickets?view=mine",
        "/tickets?view=unassigned",
        "/tickets?view=my_group",
        "/tickets?view=breaching_soon",
        "/tickets?view=overdue",
        "/tickets?view=all",
        f"/tickets/{recent[0]}",
        "/search?q=invoice",
        "/search?q=password+reset",
        f"/search?q=%23{recent[0]}",
        f"/search?q={recent[1]}",
    ]
    return [("lead", p) for p in desk] + [("cslead", "/customers"), ("cslead", f"/customers/{account}")]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def kept(path: Path, keep: str, build: Callable[[Path], object]) -> None:
    """``path`` from the file ``keep`` names when it exists (brought up to the latest migration), else
    built, and saved there when ``keep`` names a file."""
    if keep and Path(keep).exists():
        shutil.copyfile(keep, path)
        migrate(f"sqlite:///{path}")
        return
    build(path)
    if keep:
        shutil.copyfile(path, keep)


def main() -> None:
    print(f"BENCH_SCALE={SCALE} BENCH_REPEATS={REPEATS}; load average {os.getloadavg()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="opsdesk-pages-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        demo, large = work / "demo.db", work / "large.db"
        kept(demo, DEMO_DB, load_demo)
        kept(large, LARGE_DB, lambda path: (shutil.copyfile(demo, path), grow_history(path)))
        timed = pages(demo)
        urls = {}
        for name, path in (("demo", demo), ("larger", large)):
            server, urls[name] = start_server(path, work / name)
            servers.append(server)
        clients = {
            (name, who): signed_in(urls[name], f"{who}@opsdesk.demo")
            for name in urls
            for who in ("lead", "cslead")
        }
        times: dict[tuple[str, str], list[float]] = {}
        for who, path in timed:
            for _round in range(REPEATS + 2):
                for name in urls:
                    started = time.perf_counter()
                    answer = clients[(name, who)].get(path)
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.status_code != 200:
                        raise SystemExit(f"{name} {path}: HTTP {answer.status_code}")
                    if _round >= 2:  # two warm-up requests per page and database
                        times.setdefault((name, path), []).append(elapsed)
        print(f"\n{'page':42} {'demo median':>11} {'p95':>7} {'larger median':>13} {'p95':>7} {'ratio':>6}")
        worst_ratio, worst_demo = 0.0, 0.0
        for _who, path in timed:
            small, big = times[("demo", path)], times[("larger", path)]
            ratio = statistics.median(big) / statistics.median(small)
            worst_ratio, worst_demo = max(worst_ratio, ratio), max(worst_demo, statistics.median(small))
            print(
                f"{path[:42]:42} {statistics.median(small):9.1f}ms {percentile(small, 0.95):5.1f}ms "
                f"{statistics.median(big):11.1f}ms {percentile(big, 0.95):5.1f}ms {ratio:6.2f}"
            )
        met = "met" if worst_ratio <= MAX_RATIO else "NOT MET"
        print(
            f"\ntarget: no page more than {MAX_RATIO}x slower on the larger history: "
            f"worst {worst_ratio:.2f}x, {met}"
        )
        met = "met" if worst_demo <= MAX_DEMO_MS else "NOT MET"
        print(
            f"target: no page over {MAX_DEMO_MS:.0f} ms on the demo (median): "
            f"worst {worst_demo:.0f} ms, {met}"
        )
        print(f"load average at the end {os.getloadavg()}; at {datetime.now(UTC):%H:%M} UTC")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
