"""Variants, the directly-follows graph with waiting times, and the steps where the waiting piles up."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from opsdesk.insights.mining.log import EventLog

NS = 1_000_000_000
# Two odd 64-bit multipliers: a trace is keyed by (length, two positional hashes), and every case is then
# checked against its variant's first case, so a collision can never merge two different traces.
_BASES = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)


def position_in_case(log: EventLog) -> np.ndarray:
    import numpy as np

    lengths = np.diff(log.bounds)
    positions: np.ndarray = np.arange(log.events, dtype=np.int64) - np.repeat(log.bounds[:-1], lengths)
    return positions


def case_durations_s(log: EventLog) -> np.ndarray:
    """First to last event of each case, in seconds."""
    first = log.timestamp[log.bounds[:-1]]
    last = log.timestamp[log.bounds[1:] - 1]
    durations: np.ndarray = (last - first) / NS
    return durations


def _trace_hashes(log: EventLog, positions: np.ndarray) -> list[np.ndarray]:
    import numpy as np

    longest = int(np.diff(log.bounds).max())
    values = log.activity.astype(np.uint64) + np.uint64(1)
    hashes = []
    with np.errstate(over="ignore"):
        for base in _BASES:
            powers = np.ones(longest, dtype=np.uint64)
            powers[1:] = np.cumprod(np.full(longest - 1, base, dtype=np.uint64))
            hashes.append(np.add.reduceat(values * powers[positions], log.bounds[:-1]))
    return hashes


def variant_of_case(log: EventLog) -> np.ndarray:
    """A variant number per case, numbered in order of first appearance; equal traces share one."""
    import numpy as np
    import pandas as pd

    positions = position_in_case(log)
    lengths = np.diff(log.bounds)
    first, second = _trace_hashes(log, positions)
    keys = pd.DataFrame({"length": lengths, "first": first, "second": second})
    variant = keys.groupby(["length", "first", "second"], sort=False).ngroup().to_numpy()
    _, representative = np.unique(variant, return_index=True)
    leader_start = log.bounds[representative[variant]]
    same = log.activity == log.activity[np.repeat(leader_start, lengths) + positions]
    if not same.all():  # astronomically unlikely: fall back to exact tuples
        traces = pd.Series(np.split(log.activity, log.bounds[1:-1])).map(tuple)
        variant = pd.factorize(traces, sort=False)[0]
    result: np.ndarray = variant.astype(np.int64, copy=False)
    return result


def variants(log: EventLog) -> pd.DataFrame:
    """One row per variant: activities, cases, share, median/mean/min/max case duration; most common
    first, ties in order of first appearance."""
    import numpy as np
    import pandas as pd

    variant = variant_of_case(log)
    durations = pd.Series(case_durations_s(log))
    stats = durations.groupby(variant, sort=True).agg(["count", "median", "mean", "min", "max"])
    _, representative = np.unique(variant, return_index=True)
    activities = [
        log.activity_labels[log.activity[log.bounds[case] : log.bounds[case + 1]]].tolist()
        for case in representative
    ]
    table = pd.DataFrame(
        {
            "activities": activities,
            "count": stats["count"].to_numpy(np.int64),
            "share": stats["count"].to_numpy() / max(log.cases, 1),
            "median_duration_s": stats["median"].to_numpy(),
            "mean_duration_s": stats["mean"].to_numpy(),
            "min_duration_s": stats["min"].to_numpy(),
            "max_duration_s": stats["max"].to_numpy(),
        }
    )
    return table.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def directly_follows(log: EventLog) -> pd.DataFrame:
    """Edges source -> target between consecutive events of a case: how often, and the waiting time
    between them (count, mean, median, min, max, total seconds); most frequent first."""
    import pandas as pd

    follows = log.next_in_case()
    frame = pd.DataFrame(
        {
            "source": log.activity[:-1][follows],
            "target": log.activity[1:][follows],
            "wait": (log.timestamp[1:] - log.timestamp[:-1])[follows] / NS,
        }
    )
    stats = frame.groupby(["source", "target"], sort=False)["wait"].agg(
        ["count", "mean", "median", "min", "max", "sum"]
    )
    stats = stats.reset_index().rename(
        columns={"mean": "mean_s", "median": "median_s", "min": "min_s", "max": "max_s", "sum": "total_s"}
    )
    stats["source"] = log.activity_labels[stats["source"].to_numpy()]
    stats["target"] = log.activity_labels[stats["target"].to_numpy()]
    return stats.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def start_end_activities(log: EventLog) -> tuple[pd.Series, pd.Series]:
    """How many cases start and end with each activity."""
    import pandas as pd

    starts = pd.Series(log.activity_labels[log.activity[log.bounds[:-1]]]).value_counts()
    ends = pd.Series(log.activity_labels[log.activity[log.bounds[1:] - 1]]).value_counts()
    return starts, ends


def bottlenecks(edges: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The hand-overs where most waiting accumulates: edges by total waiting time, with their share of
    all waiting in the log (a rare but very slow step ranks below a common, moderately slow one)."""
    total = float(edges["total_s"].sum())
    ranked = edges.sort_values("total_s", ascending=False, kind="stable").head(top).copy()
    ranked["share_of_waiting"] = ranked["total_s"] / total if total > 0 else 0.0
    return ranked.reset_index(drop=True)
