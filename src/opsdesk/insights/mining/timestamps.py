"""Timestamps as exported by real systems, parsed column-wise (one vectorised pass per format tried).

ISO 8601 with or without an offset comes first; values without an offset are read as UTC. Slash and dot
dates follow: year first (``2013/05/02 10:11:12.345``), then day first with ``dayfirst`` (European
``2/5/2013 10:11``), else month first (US ``5/2/2013 10:11 AM``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_YEAR_FIRST = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")
_OFFSET = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"
_TIMES = ("%H:%M:%S.%f", "%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")


def _dated(dates: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{date} {time}" for date in dates for time in _TIMES) + dates


_DAY_FIRST = _dated(("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"))
_MONTH_FIRST = _dated(("%m/%d/%Y", "%m-%d-%Y"))


class TimestampError(ValueError):
    def __init__(self, row: int, value: str) -> None:
        super().__init__(f"unreadable timestamp {value!r}")
        self.row = row
        self.value = value


def formats(dayfirst: bool) -> tuple[str, ...]:
    return ("ISO8601", *_YEAR_FIRST, *(_DAY_FIRST if dayfirst else _MONTH_FIRST))


def parse_timestamps(values: pd.Series, *, dayfirst: bool = False) -> np.ndarray:
    """UTC nanoseconds since the epoch per value; raises TimestampError naming the first row (0-based
    position) that no format reads."""
    import numpy as np
    import pandas as pd

    text = pd.Series(values, copy=False).astype("string[pyarrow]").str.strip().reset_index(drop=True)
    result = np.zeros(len(text), dtype=np.int64)
    pending = np.ones(len(text), dtype=bool)
    # pandas gives a value without an offset the offset of the value before it when both kinds are in one
    # call, so values with an offset are parsed apart from those without.
    has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    for form in formats(dayfirst):
        for part in (has_offset, ~has_offset) if form == "ISO8601" else (np.ones(len(text), dtype=bool),):
            chosen = pending & part
            if not chosen.any():
                continue
            parsed = pd.to_datetime(text[chosen], format=form, utc=True, errors="coerce")
            ok = parsed.notna().to_numpy()
            rows = np.flatnonzero(chosen)[ok]
            stamps = parsed[ok].dt.tz_localize(None).astype("datetime64[ns]")
            result[rows] = stamps.to_numpy().view(np.int64)
            pending[rows] = False
    if pending.any():
        row = int(np.flatnonzero(pending)[0])
        value = text.iloc[row]
        raise TimestampError(row, "" if value is pd.NA else str(value))
    return result
