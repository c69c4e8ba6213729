"""Where work is done twice: repeated activities, hand-offs that come back (A -> B -> A between people,
L1 -> L2 -> L1 between support levels), and how long cases sit in each status per group."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.insights.mining.log import EventLog

from opsdesk.insights.mining.discovery import NS


def repeated_activities(log: EventLog) -> pd.DataFrame:
    """Per activity: cases in which it happens more than once and the extra occurrences; most first."""
    import numpy as np
    import pandas as pd

    width = np.int64(len(log.activity_labels))
    keys = log.case * width + log.activity
    per_case = pd.Series(keys).value_counts(sort=False)
    repeated = per_case[per_case > 1]
    activity = (repeated.index.to_numpy() % width).astype(np.int64)
    table = (
        pd.DataFrame({"activity": activity, "extra": repeated.to_numpy() - 1})
        .groupby("activity")
        .agg(cases=("extra", "size"), repeats=("extra", "sum"))
        .reset_index()
    )
    table["activity"] = log.activity_labels[table["activity"].to_numpy()]
    return table.sort_values(["cases", "repeats"], ascending=False, kind="stable").reset_index(drop=True)


def cases_with_repeats(log: EventLog) -> int:
    import numpy as np
    import pandas as pd

    keys = log.case * np.int64(len(log.activity_labels)) + log.activity
    duplicated = pd.Series(keys).duplicated().to_numpy()
    return int(np.unique(log.case[duplicated]).shape[0])


def ping_pong(log: EventLog, attribute: str) -> pd.DataFrame:
    """Returns A -> B -> A of ``attribute`` (a resource, group or support level) within a case, after
    collapsing consecutive events with the same value; one row per occurrence with its case and values."""
    import numpy as np
    import pandas as pd

    column = log.attributes[attribute]
    known = column.codes >= 0
    values = column.codes[known]
    cases = log.case[known]
    changed = np.ones(values.shape[0], dtype=bool)
    changed[1:] = (values[1:] != values[:-1]) | (cases[1:] != cases[:-1])
    values, cases = values[changed], cases[changed]
    back = (cases[2:] == cases[:-2]) & (values[2:] == values[:-2])
    where = np.flatnonzero(back)
    return pd.DataFrame(
        {
            "case": log.case_labels[cases[where]],
            "first": column.labels[values[where]],
            "second": column.labels[values[where + 1]],
        }
    )


def ping_pong_summary(log: EventLog, attribute: str, top: int = 10) -> dict[str, object]:
    """Occurrences, cases affected and the most common A -> B -> A pairs for one attribute."""
    occurrences = ping_pong(log, attribute)
    pairs = (
        occurrences.groupby(["first", "second"], sort=False)
        .size()
        .sort_values(ascending=False, kind="stable")
        .head(top)
    )
    return {
        "attribute": attribute,
        "occurrences": len(occurrences),
        "cases": int(occurrences["case"].nunique()),
        "patterns": [
            {"path": [str(first), str(second), str(first)], "count": int(count)}
            for (first, second), count in pairs.items()
        ],
    }


def time_in_status(log: EventLog, by: str | None = None) -> pd.DataFrame:
    """Time from each event to the next one of its case, charged to the event's activity (its status)
    and, with ``by``, to the value of that attribute at the event (the group holding the case then).
    A case's last event opens no interval. Columns: [group,] status, count, total_s, mean_s, median_s."""
    import numpy as np
    import pandas as pd

    from opsdesk.insights.mining.stats import grouped_stats

    follows = log.next_in_case()
    width = np.int64(len(log.activity_labels))
    group = log.attributes[by].codes[:-1][follows] + 1 if by is not None else 0  # 0: no group
    stats = grouped_stats(
        group * width + log.activity[:-1][follows], (log.timestamp[1:] - log.timestamp[:-1])[follows] / NS
    )
    codes = stats["key"].to_numpy()
    table = pd.DataFrame(
        {
            "status": log.activity_labels[codes % width],
            "count": stats["count"],
            "total_s": stats["total"],
            "mean_s": stats["mean"],
            "median_s": stats["median"],
        }
    )
    if by is not None:
        labels = np.r_[np.array([None], dtype=object), log.attributes[by].labels]
        table.insert(0, "group", labels[codes // width])
    return table.sort_values("total_s", ascending=False, kind="stable").reset_index(drop=True)
