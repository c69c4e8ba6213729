"""The miner on the real BPI Challenge 2013 Volvo IT incident log equals a plain-Python computation of
the same numbers (csv module, datetime, dicts): cases, events, variants with counts and median durations,
and every edge with its count and mean and median waiting time."""

from __future__ import annotations

import csv
import gzip
import itertools
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from opsdesk.insights.mining.reader import read_event_csv
from opsdesk.insights.mining.report import mining_report
from tests.conftest import shared_data

NAME = "bpic2013_volvo_incidents_ibm.csv.gz"


def plain_python(path: Path) -> dict[str, object]:
    traces: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle)):
            when = datetime.fromisoformat(row["Change Date+Time"]).timestamp()
            traces[row["SR Number"]].append((when, line, row["Activity"]))
    variant_durations: dict[tuple[str, ...], list[float]] = defaultdict(list)
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for events in traces.values():
        events.sort()  # by time, then file line
        variant_durations[tuple(activity for _, _, activity in events)].append(events[-1][0] - events[0][0])
        for (t1, _, a1), (t2, _, a2) in itertools.pairwise(events):
            waits[(a1, a2)].append(t2 - t1)
    return {
        "cases": len(traces),
        "events": sum(len(events) for events in traces.values()),
        "variants": {key: (len(d), statistics.median(d)) for key, d in variant_durations.items()},
        "edges": {key: (len(w), statistics.fmean(w), statistics.median(w)) for key, w in waits.items()},
    }


def test_volvo_log_matches_a_plain_python_computation() -> None:
    path = shared_data(NAME)
    expected = plain_python(path)
    log = read_event_csv(path, case="SR Number", activity="Activity", timestamp="Change Date+Time")
    report = mining_report(log)
    assert (report["cases"], report["events"]) == (expected["cases"], expected["events"]) == (7554, 65533)
    variants = {tuple(v["activities"]): (v["count"], v["median_duration_s"]) for v in report["variants"]}
    assert variants == expected["variants"]
    edges = {(e["source"], e["target"]): (e["count"], e["mean_s"], e["median_s"]) for e in report["edges"]}
    assert edges.keys() == expected["edges"].keys()  # type: ignore[attr-defined]
    for key, (count, mean_s, median_s) in expected["edges"].items():  # type: ignore[attr-defined]
        assert edges[key] == (count, pytest.approx(mean_s, rel=1e-9), median_s), key
