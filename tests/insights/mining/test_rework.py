"""Rework on hand-built logs: repeated steps, reassignment ping-pong, L1 -> L2 -> L1, time in status."""

from __future__ import annotations

from opsdesk.insights.mining.log import EventLog, event_log
from opsdesk.insights.mining.rework import (
    cases_with_repeats,
    ping_pong,
    ping_pong_summary,
    repeated_activities,
    time_in_status,
)
from tests.insights.mining.test_discovery import log_of

# T1: assigned to ann, then bob, back to ann (ping-pong); L1 -> L2 -> L2 -> L1 (a return to L1).
# T2: ann -> bob -> cid (no return); stays in L1.
ROWS = [
    ("T1", "open", 0),
    ("T1", "assigned", 60),
    ("T1", "assigned", 120),
    ("T1", "pending", 300),
    ("T1", "assigned", 400),
    ("T1", "solved", 1000),
    ("T2", "open", 0),
    ("T2", "assigned", 10),
    ("T2", "assigned", 20),
    ("T2", "solved", 50),
]
RESOURCES = ["ann", "ann", "bob", "bob", "ann", "ann", "ann", "bob", "cid", "cid"]
LEVELS = ["L1", "L1", "L2", "L2", "L1", "L1", "L1", "L1", "L1", "L1"]


def mined() -> EventLog:
    frame = log_of(ROWS, resource=RESOURCES, level=LEVELS)
    return event_log(
        frame, case="case", activity="activity", timestamp="time", attributes=["resource", "level"]
    )


def test_repeated_activities_count_cases_and_extra_occurrences() -> None:
    log = mined()
    table = repeated_activities(log)
    assert table.to_dict("records") == [{"activity": "assigned", "cases": 2, "repeats": 3}]
    assert cases_with_repeats(log) == 2


def test_reassignment_ping_pong_is_a_return_to_the_same_person() -> None:
    occurrences = ping_pong(mined(), "resource")
    assert occurrences.to_dict("records") == [{"case": "T1", "first": "ann", "second": "bob"}]


def test_escalation_and_return_to_l1_is_found_across_repeated_l2_events() -> None:
    summary = ping_pong_summary(mined(), "level")
    assert summary == {
        "attribute": "level",
        "occurrences": 1,
        "cases": 1,
        "patterns": [{"path": ["L1", "L2", "L1"], "count": 1}],
    }


def test_a_return_is_not_counted_across_two_cases() -> None:
    frame = log_of([("X", "a", 0), ("X", "b", 1), ("Y", "a", 0)], who=["ann", "bob", "ann"])
    log = event_log(frame, case="case", activity="activity", timestamp="time", attributes=["who"])
    assert ping_pong(log, "who").empty


def test_time_in_status_charges_each_interval_to_the_status_and_the_group_holding_it() -> None:
    table = time_in_status(mined(), by="level")
    rows = {(row["group"], row["status"]): (row["count"], row["total_s"]) for row in table.to_dict("records")}
    assert rows == {
        ("L1", "open"): (2, 70.0),
        ("L1", "assigned"): (4, 60 + 600 + 10 + 30.0),
        ("L2", "assigned"): (1, 180.0),
        ("L2", "pending"): (1, 100.0),
    }
    overall = time_in_status(mined()).set_index("status")
    assert overall.loc["assigned", "total_s"] == 880.0
    assert overall.loc["assigned", "median_s"] == 60.0  # 10, 30, 60, 180, 600
