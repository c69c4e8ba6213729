"""Variants, directly-follows edges and their waiting times on hand-built logs whose answers are known."""

from __future__ import annotations

import pandas as pd
import pytest

from opsdesk.insights.mining.discovery import bottlenecks, directly_follows, variants
from opsdesk.insights.mining.log import event_log
from opsdesk.insights.mining.report import mining_report

T0 = pd.Timestamp("2026-03-02T09:00:00Z")


def log_of(rows: list[tuple[str, str, float]], **kwargs: object) -> pd.DataFrame:
    """Rows of (case, activity, seconds after T0), in file order."""
    return pd.DataFrame(
        {
            "case": [case for case, _, _ in rows],
            "activity": [activity for _, activity, _ in rows],
            "time": [T0 + pd.Timedelta(seconds=seconds) for _, _, seconds in rows],
            **kwargs,
        }
    )


# Three cases, interleaved and out of time order in the file.
ROWS = [
    ("B", "b", 120),
    ("A", "a", 0),
    ("C", "a", 0),
    ("A", "c", 180),
    ("B", "a", 0),
    ("A", "b", 60),
    ("C", "c", 30),
    ("B", "c", 120),
]


def test_variants_count_cases_and_take_the_median_case_duration() -> None:
    log = event_log(log_of(ROWS), case="case", activity="activity", timestamp="time")
    table = variants(log)
    assert table["activities"].tolist() == [["a", "b", "c"], ["a", "c"]]
    assert table["count"].tolist() == [2, 1]
    assert table["median_duration_s"].tolist() == [150.0, 30.0]  # A took 180 s, B 120 s
    assert (log.cases, log.events) == (3, 8)


def test_edges_carry_frequency_and_waiting_time() -> None:
    log = event_log(log_of(ROWS), case="case", activity="activity", timestamp="time")
    edges = directly_follows(log).set_index(["source", "target"])
    assert sorted(edges.index) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert edges.loc[("a", "b"), ["count", "mean_s", "median_s"]].tolist() == [2, 90.0, 90.0]
    assert edges.loc[("b", "c"), ["count", "mean_s", "median_s"]].tolist() == [2, 60.0, 60.0]
    assert edges.loc[("a", "c"), ["count", "mean_s", "median_s", "total_s"]].tolist() == [1, 30.0, 30.0, 30.0]


def test_median_waiting_time_is_the_middle_of_an_odd_count_and_the_mean_of_the_two_middles() -> None:
    rows = [
        (f"k{n}", step, seconds)
        for n, wait in enumerate([10, 1000, 20])
        for step, seconds in (("open", 0), ("solve", wait))
    ]
    log = event_log(log_of(rows), case="case", activity="activity", timestamp="time")
    edge = directly_follows(log).iloc[0]
    assert (edge["count"], edge["median_s"], edge["mean_s"]) == (3, 20.0, pytest.approx(1030 / 3))
    rows.extend([("k9", "open", 0), ("k9", "solve", 40)])
    log = event_log(log_of(rows), case="case", activity="activity", timestamp="time")
    assert directly_follows(log).iloc[0]["median_s"] == 30.0


def test_events_with_equal_timestamps_keep_their_file_order() -> None:
    rows = [("X", "second", 5), ("X", "first", 0), ("X", "third", 5), ("Y", "third", 5), ("Y", "second", 5)]
    log = event_log(log_of(rows), case="case", activity="activity", timestamp="time")
    traces = variants(log)["activities"].tolist()
    assert traces == [["first", "second", "third"], ["third", "second"]]
    edges = directly_follows(log)
    assert ("third", "second") in set(zip(edges["source"], edges["target"], strict=True))


def test_long_traces_differing_in_one_late_step_are_different_variants() -> None:
    steps = [f"s{n % 7}" for n in range(300)]
    changed = [*steps[:-2], "other", steps[-1]]
    rows = [("P", step, n) for n, step in enumerate(steps)] + [
        ("Q", step, n) for n, step in enumerate(changed)
    ]
    rows += [("R", step, n) for n, step in enumerate(steps)]
    log = event_log(log_of(rows), case="case", activity="activity", timestamp="time")
    assert variants(log)["count"].tolist() == [2, 1]


def test_bottlenecks_rank_edges_by_total_waiting() -> None:
    log = event_log(log_of(ROWS), case="case", activity="activity", timestamp="time")
    ranked = bottlenecks(directly_follows(log))
    assert list(zip(ranked["source"], ranked["target"], strict=True))[:2] == [("a", "b"), ("b", "c")]
    assert ranked["share_of_waiting"].tolist() == pytest.approx([180 / 330, 120 / 330, 30 / 330])


def test_report_is_plain_json_data_with_the_contract_fields() -> None:
    import json

    log = event_log(log_of(ROWS), case="case", activity="activity", timestamp="time")
    report = json.loads(json.dumps(mining_report(log)))
    assert (report["cases"], report["events"]) == (3, 8)
    assert {"activities", "count", "median_duration_s"} <= set(report["variants"][0])
    assert {"source", "target", "count", "mean_s", "median_s"} <= set(report["edges"][0])
    assert report["start_activities"] == {"a": 3}
    assert report["activity_order"] == ["a", "b", "c"]
    assert report["end_activities"] == {"c": 3}


def test_traces_whose_keys_collide_are_still_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case is checked against its variant's first case; a colliding key falls back to tuples."""
    import numpy as np

    from opsdesk.insights.mining import discovery

    monkeypatch.setattr(discovery, "_trace_keys", lambda log, positions: np.zeros(log.cases, dtype=np.uint64))
    log = event_log(log_of(ROWS), case="case", activity="activity", timestamp="time")
    assert variants(log)["count"].tolist() == [2, 1]
    assert discovery.variant_of_case(log).tolist() == [0, 0, 1]  # B, A, C in order of first appearance
    same_length = [("A", "a", 0), ("A", "b", 1), ("D", "b", 0), ("D", "a", 1)]
    log = event_log(log_of(same_length), case="case", activity="activity", timestamp="time")
    assert variants(log)["activities"].tolist() == [["a", "b"], ["b", "a"]]
