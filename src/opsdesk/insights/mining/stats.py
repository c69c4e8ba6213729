"""Count, total, mean, median, min and max of values per integer key in one sort, without a Python loop
per group: the waiting times per edge, case durations per variant and time per status all go through it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def grouped_stats(keys: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """One row per distinct key (ascending), columns key, count, total, mean, median, min, max; the
    median of an even count is the mean of the two middle values."""
    import numpy as np
    import pandas as pd

    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[first, keys.size])
    totals = np.add.reduceat(values, first) if keys.size else np.zeros(0)
    low, high = values[first + (counts - 1) // 2], values[first + counts // 2]
    return pd.DataFrame(
        {
            "key": keys[first],
            "count": counts.astype(np.int64),
            "total": totals,
            "mean": totals / np.maximum(counts, 1),
            "median": (low + high) / 2,
            "min": values[first],
            "max": values[first + counts - 1],
        }
    )
