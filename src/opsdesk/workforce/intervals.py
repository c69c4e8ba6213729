"""Reading a per-interval volume file (a forecast or history) for staffing, with errors that name lines.

The file is CSV with a header: `timestamp` and `forecast` (or `volume`), optionally the forecast's
intervals (`lo80`, `hi80`, ...) which staffing ignores, and optionally `channel` to hold several
queues in one file. Timestamps are ISO 8601; ones without an offset are read as UTC.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from opsdesk.core.errors import ValidationFailed

VOLUME_COLUMNS = ("forecast", "volume")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class IntervalVolumes:
    """Volumes of one queue, one row per interval, in file order (strictly increasing time)."""

    labels: list[str]
    """Timestamps as written in the file, to echo them back unchanged."""
    timestamps: pd.DatetimeIndex
    volume: NDArray[np.float64]
    lines: NDArray[np.int64]
    """Line number in the file of each row, for error messages."""
    interval_seconds: int

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"timestamp": self.labels, "volume": self.volume})


def parse_interval(text: str) -> int:
    """Interval length in seconds from '900', '900s', '15min', '15m' or '1h'."""
    match = re.fullmatch(r"\s*(\d+)\s*(s|sec|m|min|h|hour)?\s*", text.lower())
    if not match or int(match.group(1)) == 0:
        raise ValidationFailed(f"{text!r} is not an interval length such as 15min, 1h or 900 (seconds)")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def read_interval_volumes(
    path: Path, *, channel: str | None = None, interval_seconds: int | None = None, contiguous: bool = False
) -> IntervalVolumes:
    """Read and check `path`; every error names the file and line.

    `contiguous` demands one row per interval with no gaps (work carried between intervals needs it).
    """
    name = path.name
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        header = [column.strip().lower() for column in next(reader, [])]
        if not header or header == [""]:
            raise ValidationFailed(f"{name}: the file is empty (expected a header line)")
        if "timestamp" not in header:
            raise ValidationFailed(f"{name} line 1: no 'timestamp' column (found: {', '.join(header)})")
        present = [column for column in VOLUME_COLUMNS if column in header]
        if len(present) != 1:
            problem = "both 'forecast' and 'volume' columns" if present else "no 'forecast' or 'volume'"
            raise ValidationFailed(f"{name} line 1: {problem} (found: {', '.join(header)})")
        at_time, at_volume = header.index("timestamp"), header.index(present[0])
        at_channel = header.index("channel") if "channel" in header else None
        labels: list[str] = []
        volumes: list[float] = []
        lines: list[int] = []
        seen_channels: set[str] = set()
        line = reader.line_num
        for row in reader:
            line, start = reader.line_num, line + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValidationFailed(
                    f"{name} line {start}: {len(row)} fields where the header has {len(header)}"
                )
            if at_channel is not None:
                seen_channels.add(row[at_channel].strip().lower())
                if channel is not None and row[at_channel].strip().lower() != channel.lower():
                    continue
            text = row[at_volume].strip()
            try:
                value = float(text)
            except ValueError:
                raise ValidationFailed(f"{name} line {start}: volume {text!r} is not a number") from None
            if not math.isfinite(value) or value < 0:
                raise ValidationFailed(f"{name} line {start}: volume {text} must be a number >= 0")
            labels.append(row[at_time].strip())
            volumes.append(value)
            lines.append(start)
    if not labels:
        where = f" for channel {channel!r} (channels in the file: {', '.join(sorted(seen_channels))})"
        raise ValidationFailed(f"{name}: no rows{where if at_channel is not None and channel else ''}")
    line_numbers = np.array(lines, dtype=np.int64)
    stamps = _parse_timestamps(name, labels, line_numbers)
    return IntervalVolumes(
        labels=labels,
        timestamps=stamps,
        volume=np.array(volumes, dtype=np.float64),
        lines=line_numbers,
        interval_seconds=_check_spacing(name, stamps, line_numbers, interval_seconds, contiguous),
    )


def _parse_timestamps(name: str, labels: list[str], lines: NDArray[np.int64]) -> pd.DatetimeIndex:
    parsed = pd.to_datetime(pd.Series(labels), utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise ValidationFailed(f"{name} line {lines[row]}: {labels[row]!r} is not an ISO 8601 timestamp")
    return pd.DatetimeIndex(parsed)


def _check_spacing(
    name: str,
    stamps: pd.DatetimeIndex,
    lines: NDArray[np.int64],
    interval_seconds: int | None,
    contiguous: bool,
) -> int:
    """Strictly increasing times on a whole-interval grid; the interval is inferred when not given."""
    nanos = stamps.as_unit("ns").asi8
    steps = np.diff(nanos)
    backwards = np.flatnonzero(steps <= 0)
    if backwards.size:
        row = int(backwards[0]) + 1
        what = "repeats" if steps[row - 1] == 0 else "goes back before"
        raise ValidationFailed(
            f"{name} line {lines[row]}: timestamp {what} the one on line {lines[row - 1]}"
            " (timestamps must strictly increase)"
        )
    if interval_seconds is None:
        if not steps.size:
            raise ValidationFailed(f"{name}: one row cannot show the interval length; pass --interval")
        smallest = int(steps.min())
        if smallest % 1_000_000_000:
            raise ValidationFailed(f"{name}: intervals must be whole seconds; pass --interval")
        interval_seconds = smallest // 1_000_000_000
    unit = interval_seconds * 1_000_000_000
    off_grid = np.flatnonzero(steps % unit != 0)
    if off_grid.size:
        row = int(off_grid[0]) + 1
        raise ValidationFailed(
            f"{name} line {lines[row]}: timestamp is not a whole number of {interval_seconds} s intervals"
            f" after line {lines[row - 1]}"
        )
    if contiguous:
        gaps = np.flatnonzero(steps != unit)
        if gaps.size:
            row = int(gaps[0]) + 1
            raise ValidationFailed(
                f"{name} line {lines[row]}: intervals are missing after line {lines[row - 1]}"
                " (deferred work is carried between intervals, so every interval needs a row)"
            )
    return interval_seconds
