"""A pandas record's values as plain Python for JSON (the CLI's ``--format json`` and the API): NumPy
scalars as numbers, a missing number (NaN) as null, a timestamp as its ISO day."""

from __future__ import annotations

import math
from typing import Any


def plain(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return plain(value.item())
    return value
