"""Dashboard page times on the demo, over real HTTP: the first view of each dashboard (the KPI engine
runs), the same view again (answered from the cache until the next event), and a view with a
multi-value filter (the period's frames are reused; the engine runs on the narrowed frames).

Anchor: the demo (`opsdesk demo`: six months of tickets, 800 success accounts), as `benchmarks/pages.py`
builds it (BENCH_DEMO_DB names a file that keeps it between runs; BENCH_SCALE shrinks it). Target: the
repeated view under 300 ms (median of BENCH_REPEATS); the first and the filtered views are printed so
the cost of a cold cache is on record, not hidden.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # the demo, the server and the sign-in of the page benchmark

MAX_WARM_MS = 300.0
REPEATS = int(os.environ.get("BENCH_REPEATS", "15"))
BOARDS = [
    ("lead", "/dashboards/support", "channel=email&channel=chat&site=Manila&site=Dublin"),
    ("lead", "/dashboards/productivity", "channel=email&channel=phone"),
    ("lead", "/dashboards/sla", "tier=L1&tier=L2&channel=chat"),
    ("cslead", "/dashboards/success", "segment=Enterprise&segment=Large"),
    ("lead", "/dashboards/workforce", "channel=email&channel=chat"),
]


def timed(client: httpx.Client, target: str) -> float:
    started = time.perf_counter()
    answer = client.get(target)
    if answer.status_code != 200:
        raise SystemExit(f"{target}: HTTP {answer.status_code}")
    return (time.perf_counter() - started) * 1000


def main() -> None:
    print(f"BENCH_SCALE={pages.SCALE} BENCH_REPEATS={REPEATS}; load average {os.getloadavg()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="opsdesk-dashboards-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        demo = work / "demo.db"
        pages.kept(demo, pages.DEMO_DB, pages.load_demo)
        server, url = pages.start_server(demo, work / "data")
        clients = {who: pages.signed_in(url, f"{who}@opsdesk.demo") for who in ("lead", "cslead")}
        print(f"\n{'dashboard':26} {'first':>9} {'again (median)':>15} {'p95':>8} {'filtered first':>15}")
        worst = 0.0
        for who, path, filtered in BOARDS:
            client = clients[who]
            first = timed(client, path)
            again = [timed(client, path) for _ in range(REPEATS)]
            narrowed = timed(client, f"{path}?{filtered}")
            worst = max(worst, statistics.median(again))
            print(
                f"{path:26} {first:7.0f}ms {statistics.median(again):13.1f}ms "
                f"{pages.percentile(again, 0.95):6.1f}ms {narrowed:13.0f}ms"
            )
        met = "met" if worst <= MAX_WARM_MS else "NOT MET"
        print(f"\ntarget: a repeated view under {MAX_WARM_MS:.0f} ms (median): worst {worst:.0f} ms, {met}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
