"""Process mining: OpsDesk's variants and directly-follows graph with performance against pm4py.

Logs: the real BPI Challenge 2013 Volvo IT incident log (65,533 events, 7,554 incidents) and a generated
ticket log of MINING_BENCH_EVENTS events (default 60,000,000; e.g. MINING_BENCH_EVENTS=500000 for a quick
run), written to disk as Parquet (in MINING_BENCH_DIR, default the system temp folder; kept and reused)
and read back. Both miners start from the same in-memory data frame (parsed timestamps) and compute:
variants with their counts and case durations, and the directly-follows graph with edge frequencies and
waiting times (mean and median). pm4py: format_dataframe (its sort by case, time and row), get_variants,
discover_dfg, discover_performance_dfg and get_all_case_durations. OpsDesk: event_log, variants,
directly_follows. Time is the wall time of one run (on the Volvo log the best of ten after a warm-up
run, the two miners alternating).

Target: identical case, variant and edge counts (and variant counts, edge counts and mean waits equal
edge by edge), OpsDesk at least 10x faster. pm4py is AGPL: it is installed for this benchmark only
(benchmarks/requirements.txt) and never imported by src/.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _shared_data import shared_data
from opsdesk.insights.mining.discovery import case_durations_s, directly_follows, variants
from opsdesk.insights.mining.log import event_log

VOLVO = "bpic2013_volvo_incidents_ibm.csv.gz"
EVENTS = int(os.environ.get("MINING_BENCH_EVENTS", "60000000"))
FOLDER = Path(os.environ.get("MINING_BENCH_DIR", tempfile.gettempdir()))
CHUNK_EVENTS = 5_000_000
ACTIVITIES = [
    "created", "assigned", "first reply", "customer replied", "agent replied", "pending", "on-hold",
    "escalated to L2", "returned to L1", "reassigned", "group changed", "solved", "reopened", "closed",
]  # fmt: skip


def volvo_frame() -> pd.DataFrame:
    frame = pd.read_csv(
        shared_data(VOLVO), usecols=["SR Number", "Activity", "Change Date+Time"], encoding="utf-8-sig"
    )
    frame = frame.rename(columns={"SR Number": "case", "Activity": "activity", "Change Date+Time": "time"})
    frame["time"] = pd.to_datetime(frame["time"], format="ISO8601", utc=True)
    return frame


def _transitions(rng: np.random.Generator) -> np.ndarray:
    """A ticket workflow as a Markov chain: mostly forward, with escalations, reopens and ping-pong."""
    size = len(ACTIVITIES)
    weights = rng.random((size, size)) ** 4
    for step in range(size - 1):
        weights[step, step + 1] += 3.0
    weights[:, 0] = 0.0
    matrix: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return np.cumsum(matrix, axis=1)


def _chunk(rng: np.random.Generator, cumulative: np.ndarray, first_case: int, events: int) -> pd.DataFrame:
    """About ``events`` events of whole cases; rows ordered by time across cases, as exports are."""
    mean_length = 6
    cases = max(1, events // mean_length)
    lengths = np.clip(rng.geometric(1 / (mean_length - 1), cases) + 1, 2, 40)
    total = int(lengths.sum())
    case = np.repeat(np.arange(first_case, first_case + cases, dtype=np.int64), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    position = np.arange(total) - starts
    activity = np.zeros(total, dtype=np.int16)
    for step in range(1, int(lengths.max())):  # one vectorised step per position, over all cases
        at = np.flatnonzero(position == step)
        previous = activity[at - 1]
        draw = rng.random(at.shape[0])
        activity[at] = (cumulative[previous] < draw[:, None]).sum(axis=1).clip(0, len(ACTIVITIES) - 1)
    opened = rng.integers(0, 2 * 365 * 86400, cases)
    waits = np.round(rng.lognormal(7.0, 2.0, total)).astype(np.int64)
    waits[rng.random(total) < 0.05] = 0  # equal timestamps: the file order decides
    waits[position == 0] = 0
    offsets = np.cumsum(waits)
    offsets -= np.repeat(offsets[np.cumsum(lengths) - lengths], lengths)
    seconds = np.repeat(opened, lengths) + offsets
    order = np.argsort(seconds, kind="stable")
    return pd.DataFrame(
        {
            "case": case[order],
            "activity": pd.Categorical.from_codes(activity[order], categories=ACTIVITIES),
            "time": pd.to_datetime(seconds[order] + 1_577_836_800, unit="s", utc=True),
        }
    )


def generated_frame(events: int) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = FOLDER / f"opsdesk_mining_{events}.parquet"
    if not path.exists():
        rng = np.random.default_rng(13)
        cumulative = _transitions(rng)
        partial = path.with_suffix(".partial")
        writer = None
        written, first_case = 0, 0
        while written < events:
            chunk = _chunk(rng, cumulative, first_case, min(CHUNK_EVENTS, events - written))
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            writer = writer or pq.ParquetWriter(partial, table.schema)
            writer.write_table(table)
            written += len(chunk)
            first_case = int(chunk["case"].max()) + 1
        assert writer is not None
        writer.close()
        partial.rename(path)
        print(f"generated {path} ({written:,} events)", flush=True)
    return pd.read_parquet(path)


def opsdesk(frame: pd.DataFrame) -> dict[str, Any]:
    log = event_log(frame, case="case", activity="activity", timestamp="time")
    table = variants(log)
    edges = directly_follows(log)
    return {
        "cases": log.cases,
        "variants": {tuple(a): int(c) for a, c in zip(table["activities"], table["count"], strict=True)},
        "edges": {
            (s, t): (int(c), float(m))
            for s, t, c, m in edges[["source", "target", "count", "mean_s"]].itertuples(index=False)
        },
        "median_case_s": float(np.median(case_durations_s(log))),
    }


def pm4py_run(frame: pd.DataFrame) -> dict[str, Any]:
    import pm4py

    data = pm4py.format_dataframe(frame, case_id="case", activity_key="activity", timestamp_key="time")
    found = pm4py.get_variants(data)
    dfg, _, _ = pm4py.discover_dfg(data)
    performance, _, _ = pm4py.discover_performance_dfg(data)
    durations = pm4py.get_all_case_durations(data)
    return {
        "cases": int(data["case:concept:name"].nunique()),
        "variants": {tuple(k): (v if isinstance(v, int) else len(v)) for k, v in found.items()},
        "edges": {edge: (int(count), float(performance[edge]["mean"])) for edge, count in dfg.items()},
        "median_case_s": float(np.median(durations)),
    }


def timed(frame: pd.DataFrame, repeats: int) -> tuple[float, Any, float, Any]:
    """Best wall time of ``repeats`` runs of each, the two alternating so that a busy machine slows both
    alike; with more than one repeat, after an untimed warm-up run of each (lazy imports, first-call
    caches), so that a small log measures the computation."""
    runs: list[tuple[Callable[[pd.DataFrame], dict[str, Any]], list[float], list[Any]]] = [
        (opsdesk, [], []),
        (pm4py_run, [], []),
    ]
    if repeats > 1:
        for run, _, _ in runs:
            run(frame)
    for _ in range(repeats):
        for run, seconds, results in runs:
            start = time.perf_counter()
            results[:] = [run(frame)]
            seconds.append(time.perf_counter() - start)
    (_, ours_s, ours), (_, theirs_s, theirs) = runs
    return min(ours_s), ours[0], min(theirs_s), theirs[0]


def compare(name: str, frame: pd.DataFrame, repeats: int) -> bool:
    ours_s, ours, theirs_s, theirs = timed(frame, repeats)
    same_counts = (ours["cases"], len(ours["variants"]), len(ours["edges"])) == (
        theirs["cases"],
        len(theirs["variants"]),
        len(theirs["edges"]),
    )
    same_variants = ours["variants"] == theirs["variants"]
    same_edges = ours["edges"].keys() == theirs["edges"].keys() and all(
        ours["edges"][e][0] == theirs["edges"][e][0]
        and math.isclose(ours["edges"][e][1], theirs["edges"][e][1], rel_tol=1e-9, abs_tol=1e-6)
        for e in ours["edges"]
    )
    same_median = math.isclose(ours["median_case_s"], theirs["median_case_s"], abs_tol=1e-6)
    ratio = theirs_s / ours_s
    print(f"\n{name}: {len(frame):,} events")
    print(f"  {'':10} {'cases':>10} {'variants':>10} {'edges':>7} {'seconds':>9}")
    for label, result, seconds in (("OpsDesk", ours, ours_s), ("pm4py", theirs, theirs_s)):
        print(
            f"  {label:10} {result['cases']:>10,} {len(result['variants']):>10,} "
            f"{len(result['edges']):>7,} {seconds:>9.3f}"
        )
    print(
        f"  identical counts: {same_counts}; variants equal trace by trace: {same_variants}; edges equal "
        f"(count, mean wait): {same_edges}; median case duration equal: {same_median}"
    )
    print(f"  OpsDesk is {ratio:.1f}x faster than pm4py (target: at least 10x)")
    return same_counts and same_variants and same_edges and same_median and ratio >= 10


def main() -> None:
    ok = compare("Volvo IT incidents (BPIC 2013)", volvo_frame(), repeats=10)
    ok = compare(f"generated ticket log ({EVENTS:,} events)", generated_frame(EVENTS), repeats=1) and ok
    if not ok:
        print("\nFAILED: counts differ or OpsDesk is less than 10x faster than pm4py")
        sys.exit(1)


if __name__ == "__main__":
    main()
