"""How fast OpsDesk starts and how much a web worker weighs, beside the floor: a bare interpreter that
imports FastAPI and nothing else (no command, no web process can start faster or weigh less).

- `opsdesk --help`: wall and CPU seconds, median of several runs.
- `opsdesk serve`: seconds from launch until /healthz answers, on SQLite (one process, background jobs
  inside) and on PostgreSQL with two workers (BENCH_DATABASE_URL's server, database bench_startup).
- Resident memory (VmRSS) of each web worker after it has answered a few requests, and the heavy
  libraries it has loaded (none should be).

Targets (on an idle machine): --help under 0.5 s, serve ready in under 5 s, a web worker under 150 MB.
Each serve is started BENCH_SERVE_ROUNDS (3) times and the median is the result. Processes run as on
an installed system: with their bytecode caches (written by a first run; PYTHONDONTWRITEBYTECODE, set
in some sandboxes and CI shells, is removed for them, since it makes every start compile OpsDesk's
modules from source again).
The machine's load average is printed with the results: on a shared machine, wall times stretch with
the load while CPU seconds and memory do not.
"""

from __future__ import annotations

import http.client
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

RUNS = int(os.environ.get("BENCH_ROUNDS", "5"))
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "bench_startup"
HEAVY = ("pandas", "scipy", "statsforecast", "ortools", "duckdb", "numpy")
SOURCES = str(Path(__file__).resolve().parents[1] / "src")
OPSDESK = [sys.executable, "-c", "from opsdesk.cli import main; main()"]
GIVE_UP = 300.0  # seconds without an answer before the run is reported as failed
PAGES = ["/healthz", "/signin", "/api/v1/tickets", "/openapi.json"]


SERVE_ROUNDS = int(os.environ.get("BENCH_SERVE_ROUNDS", "3"))


def env(**extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**inherited, "PYTHONPATH": SOURCES, **extra}


def timed(argv: list[str], environ: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=environ, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_run(argv: list[str], environ: dict[str, str]) -> tuple[float, float]:
    runs = [timed(argv, environ) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def floor_rss_mb() -> float:
    code = "import fastapi, resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status
    except OSError:
        return None


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (load stretches wall time, not this)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def heavy_loaded(pid: int) -> list[str]:
    """Heavy libraries mapped into the process (their compiled extensions show in /proc/pid/maps)."""
    with open(f"/proc/{pid}/maps") as fh:
        maps = fh.read()
    return [name for name in HEAVY if f"/site-packages/{name}/" in maps]


def workers_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        children = [int(c) for c in fh.read().split()]
    found = []
    for child in children:
        with open(f"/proc/{child}/cmdline", "rb") as fh:
            if b"spawn_main" in fh.read():
                found.append(child)
    return found


def start_until_ready(environ: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], int, float]:
    """`opsdesk serve` launched, and the seconds until /healthz answers (inf if never)."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(
        [*OPSDESK, "serve", "--port", str(port), "--workers", str(workers)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while get(port, "/healthz") != 200:
        if process.poll() is not None:
            raise SystemExit(f"opsdesk serve exited with {process.returncode}")
        if time.perf_counter() - start > GIVE_UP:
            return process, port, float("inf")
        time.sleep(0.05)
    return process, port, time.perf_counter() - start


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def serve(label: str, environ: dict[str, str], workers: int) -> None:
    readies = []
    for _ in range(SERVE_ROUNDS - 1):
        process, _port, ready = start_until_ready(environ, workers)
        stop(process)
        readies.append(ready)
    process, port, ready = start_until_ready(environ, workers)
    readies.append(ready)
    try:
        if ready == float("inf"):
            print(f"{label}: not answering after {GIVE_UP:.0f} s")
            return
        pids = workers_of(process.pid) if workers > 1 else [process.pid]
        cpu = ", ".join(f"{cpu_seconds(pid):.2f}" for pid in pids)
        for _ in range(4 * workers):  # each worker answers some requests before it is weighed
            for path in PAGES:
                get(port, path)
        runs = ", ".join(f"{r:.2f}" for r in readies)
        print(
            f"{label}: ready in {statistics.median(readies):.2f} s (target < 5 s; runs {runs}); "
            f"CPU seconds by then per web process: {cpu}"
        )
        for pid in pids:
            what = "web worker" if workers > 1 else "the one process (web and jobs)"
            heavy = ", ".join(heavy_loaded(pid)) or "none"
            print(f"  {what} {pid}: {rss_mb(pid):.0f} MB resident (target < 150 MB)")
            print(f"    heavy libraries loaded: {heavy}")
        if workers > 1:
            print(f"  parent {process.pid} (background jobs): {rss_mb(process.pid):.0f} MB resident")
    finally:
        stop(process)


def postgres_available() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        return True
    except psycopg.OperationalError:
        return False


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; medians of {RUNS} runs")
    wall, cpu = median_run([sys.executable, "-c", "import fastapi"], env())
    print(f"floor, `import fastapi` alone: {wall:.2f} s wall, {cpu:.2f} s CPU, {floor_rss_mb():.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = env(OPSDESK_DATA_DIR=tmp, OPSDESK_DATABASE_URL=f"sqlite:///{tmp}/startup.db")
        help_wall, help_cpu = median_run([*OPSDESK, "--help"], sqlite)
        print(f"opsdesk --help: {help_wall:.2f} s wall, {help_cpu:.2f} s CPU (target < 0.5 s)")
        subprocess.run([*OPSDESK, "migrate"], env=sqlite, stdout=subprocess.DEVNULL, check=True)
        serve("opsdesk serve on SQLite", sqlite, workers=1)
        if postgres_available():
            base, _, _ = ADMIN_URL.rpartition("/")
            url = base.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{DB_NAME}"
            postgres = env(OPSDESK_DATA_DIR=tmp, OPSDESK_DATABASE_URL=url)
            subprocess.run([*OPSDESK, "migrate"], env=postgres, stdout=subprocess.DEVNULL, check=True)
            try:
                serve("opsdesk serve --workers 2 on PostgreSQL", postgres, workers=2)
            finally:
                with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        else:
            print(f"PostgreSQL not reachable at {ADMIN_URL}: the multi-worker run is left out")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
