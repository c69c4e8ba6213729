"""Variants, the directly-follows graph with waiting times, and the steps where the waiting piles up."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from opsdesk.insights.mining.log import EventLog

NS = 1_000_000_000
# A trace is keyed by a positional hash mixed with its length; every case is then checked against its
# variant's first case, so a collision can never merge two different traces.
_BASE = 0x9E3779B97F4A7C15
_LENGTH_MIX = 0xC2B2AE3D27D4EB4F


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


def _trace_keys(log: EventLog, positions: np.ndarray) -> np.ndarray:
    import numpy as np

    lengths = np.diff(log.bounds).astype(np.uint64)
    longest = int(lengths.max())
    values = log.activity.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        powers = np.ones(longest, dtype=np.uint64)
        powers[1:] = np.cumprod(np.full(longest - 1, _BASE, dtype=np.uint64))
        hashes = np.add.reduceat(values * powers[positions], log.bounds[:-1])
        keys: np.ndarray = hashes ^ (lengths * np.uint64(_LENGTH_MIX))
    return keys


def _variants_and_leaders(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """A variant number per case (in order of first appearance) and each variant's first case."""
    import numpy as np
    import pandas as pd

    positions = position_in_case(log)
    lengths = np.diff(log.bounds)
    variant = pd.factorize(_trace_keys(log, positions), sort=False)[0]
    # Codes count up in order of first appearance: a variant's first case is where the running maximum grows.
    leaders = np.flatnonzero(np.r_[True, variant[1:] > np.maximum.accumulate(variant)[:-1]])
    leader = leaders[variant]
    same = bool((lengths == lengths[leader]).all()) and bool(
        (log.activity == log.activity[np.repeat(log.bounds[leader], lengths) + positions]).all()
    )
    if not same:  # a hash collision, astronomically unlikely: fall back to exact tuples
        traces = pd.Series(np.split(log.activity, log.bounds[1:-1])).map(tuple)
        variant = pd.factorize(traces, sort=False)[0]
        _, leaders = np.unique(variant, return_index=True)
    return variant.astype(np.int64, copy=False), leaders


def variant_of_case(log: EventLog) -> np.ndarray:
    """A variant number per case, numbered in order of first appearance; equal traces share one."""
    return _variants_and_leaders(log)[0]


def variants(log: EventLog) -> pd.DataFrame:
    """One row per variant: activities, cases, share, median/mean/min/max case duration; most common
    first, ties in order of first appearance."""
    import numpy as np
    import pandas as pd

    from opsdesk.insights.mining.stats import grouped_stats

    variant, leaders = _variants_and_leaders(log)
    stats = grouped_stats(variant, case_durations_s(log))
    activities = [
        log.activity_labels[log.activity[log.bounds[case] : log.bounds[case + 1]]].tolist()
        for case in leaders
    ]
    counts = stats["count"].to_numpy()
    table = pd.DataFrame(
        {
            "activities": activities,
            "count": counts,
            "share": counts / max(log.cases, 1),
            "median_duration_s": stats["median"].to_numpy(),
            "mean_duration_s": stats["mean"].to_numpy(),
            "min_duration_s": stats["min"].to_numpy(),
            "max_duration_s": stats["max"].to_numpy(),
        }
    )
    order = np.argsort(-counts, kind="stable")
    return table.iloc[order].reset_index(drop=True)


def directly_follows(log: EventLog) -> pd.DataFrame:
    """Edges source -> target between consecutive events of a case: how often, and the waiting time
    between them (count, mean, median, min, max, total seconds); most frequent first."""
    import numpy as np

    from opsdesk.insights.mining.stats import grouped_stats

    follows = log.next_in_case()
    width = np.int64(len(log.activity_labels))
    edge = log.activity[:-1][follows] * width + log.activity[1:][follows]
    stats = grouped_stats(edge, (log.timestamp[1:] - log.timestamp[:-1])[follows] / NS)
    codes = stats.pop("key").to_numpy()
    stats = stats.rename(
        columns={"mean": "mean_s", "median": "median_s", "min": "min_s", "max": "max_s", "total": "total_s"}
    )[["count", "mean_s", "median_s", "min_s", "max_s", "total_s"]]
    stats.insert(0, "target", log.activity_labels[codes % width])
    stats.insert(0, "source", log.activity_labels[codes // width])
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


def activity_order(log: EventLog) -> list[str]:
    """Activities by their mean relative position in the cases they occur in (0 = first event, 1 = last):
    the order a drawing of the flow lists them in, start to finish."""
    import numpy as np

    lengths = np.diff(log.bounds)
    span = np.maximum(np.repeat(lengths, lengths) - 1, 1)
    relative = position_in_case(log) / span
    width = len(log.activity_labels)
    mean = np.bincount(log.activity, weights=relative, minlength=width) / np.maximum(
        np.bincount(log.activity, minlength=width), 1
    )
    order = np.argsort(mean, kind="stable")
    return [str(label) for label in log.activity_labels[order]]
