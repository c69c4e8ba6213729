"""The mining report as plain JSON-ready data: what `opsdesk mine` writes and the workflow page reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.insights.mining.log import EventLog


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (numpy scalars are not JSON)."""
    import numpy as np

    def plain(value: Any) -> Any:
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
        return value

    columns = list(table.columns)
    return [
        {name: plain(value) for name, value in zip(columns, row, strict=True)}
        for row in table.itertuples(index=False, name=None)
    ]


def mining_report(
    log: EventLog, *, resource: str | None = None, group: str | None = None, top: int = 10
) -> dict[str, Any]:
    """cases, events, variants, edges (the directly-follows graph with waiting times), start and end
    activities, bottlenecks, rework (repeated activities; A -> B -> A of the resource and of the group)
    and time in each status (per group when one is given). Durations are seconds."""
    from opsdesk.insights.mining.discovery import (
        activity_order,
        bottlenecks,
        case_durations_s,
        directly_follows,
        start_end_activities,
        variants,
    )
    from opsdesk.insights.mining.rework import (
        cases_with_repeats,
        ping_pong_summary,
        repeated_activities,
        time_in_status,
    )

    if log.events == 0:
        return empty_report()
    edges = directly_follows(log)
    starts, ends = start_end_activities(log)
    durations = case_durations_s(log)
    rework: dict[str, Any] = {
        "cases_with_repeated_activity": cases_with_repeats(log),
        "repeated_activities": _records(repeated_activities(log)),
        "ping_pong": [ping_pong_summary(log, name, top) for name in (resource, group) if name is not None],
    }
    return {
        "cases": log.cases,
        "events": log.events,
        "activities": len(log.activity_labels),
        "activity_order": activity_order(log),
        "case_duration_s": {
            "median": float(_median(durations)),
            "mean": float(durations.mean()) if log.cases else 0.0,
        },
        "variants": _records(variants(log)),
        "edges": _records(edges),
        "start_activities": {str(name): int(count) for name, count in starts.items()},
        "end_activities": {str(name): int(count) for name, count in ends.items()},
        "bottlenecks": _records(bottlenecks(edges, top)),
        "rework": rework,
        "time_in_status": _records(time_in_status(log, group)),
    }


def _median(values: Any) -> float:
    import numpy as np

    return float(np.median(values)) if len(values) else 0.0


def empty_report() -> dict[str, Any]:
    """The report of a log without events (a filter that matched nothing)."""
    return {
        "cases": 0,
        "events": 0,
        "activities": 0,
        "activity_order": [],
        "case_duration_s": {"median": 0.0, "mean": 0.0},
        "variants": [],
        "edges": [],
        "start_activities": {},
        "end_activities": {},
        "bottlenecks": [],
        "rework": {"cases_with_repeated_activity": 0, "repeated_activities": [], "ping_pong": []},
        "time_in_status": [],
    }
