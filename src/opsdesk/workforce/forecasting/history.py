"""Reading, checking and regularising contact-volume history before any model sees it.

Rules (they are what users see documented in `opsdesk forecast --help`):

- Time. Seasonality is computed on local wall-clock time. With a time zone, every timestamp is
  converted to it; without one, a timestamp's own offset gives its wall time and timestamps without
  an offset are UTC. On a fall-back day the repeated hour's volume is added to its wall-clock slot; on
  a spring-forward day the skipped hour is simply absent.
- Aggregation. History at a finer interval than the forecast interval is summed into it; coarser
  history is refused.
- Operating hours. A slot of the week (weekday x time of day) is open when it holds an observation in
  at least half of the last eight weeks (half of the history when shorter). Closed slots are not
  missing data: they are left out of fitting and forecast as zero.
- Gaps. A missing open slot is filled with the median of the same slot of the week in up to two
  weeks either side (widening to the whole history when those are missing too). A partial first or
  last day is not fitted.
- Special days. History on a closed or special day is treated as a gap for the normal models; closed
  days forecast zero and special days get their own profile (see `holidays.py`).
- Outliers. An open value further than six robust standard deviations from the median of its slot in
  the two weeks either side is clipped to that bound before fitting (the spread is scaled by the
  square root of the level, as counts are roughly Poisson).
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.forecasting.holidays import DayKind

REQUIRED_COLUMNS = ("timestamp", "volume")
PATTERN_WEEKS = 8
OUTLIER_SIGMAS = 6.0
MIN_HISTORY_DAYS = 21

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class VolumeHistory:
    """One channel's observations: wall-clock times (increasing) and volumes, plus the output zone."""

    wall: pd.DatetimeIndex
    volume: FloatArray
    zone: tzinfo
    source: str = "history"


@dataclass
class Grid:
    """A regular local-time grid: one row per calendar day, one column per slot of the day."""

    first_day: date
    step_minutes: int
    values: FloatArray  # (days, slots); NaN where closed or missing
    open_mask: BoolArray  # (7, slots): the operating pattern by weekday
    special: dict[int, DayKind] = field(default_factory=dict)  # row -> kind, for days in history
    observed_special: dict[int, FloatArray] = field(default_factory=dict)  # their own volumes
    filled: int = 0
    clipped: int = 0

    @property
    def slots(self) -> int:
        return self.values.shape[1]

    @property
    def days(self) -> int:
        return self.values.shape[0]

    def weekdays(self, start: int = 0, count: int | None = None) -> NDArray[np.int64]:
        count = self.days - start if count is None else count
        first = self.first_day.weekday()
        return (first + start + np.arange(count)) % 7

    def open_cells(self, start: int = 0, count: int | None = None) -> BoolArray:
        return self.open_mask[self.weekdays(start, count)]


def resolve_zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {name!r}", field="--timezone") from None


def parse_interval(text: str) -> int:
    """Minutes in an interval such as '30min', '1h' or '15'; it must divide a day."""
    minutes = _duration_minutes(text, "--interval")
    if minutes <= 0 or 1440 % minutes:
        raise ValidationFailed(
            f"interval {text!r} must divide a day (e.g. 5min, 15min, 30min, 60min)", field="--interval"
        )
    return minutes


def parse_horizon(text: str) -> timedelta:
    minutes = _duration_minutes(text, "--horizon")
    if minutes <= 0:
        raise ValidationFailed(f"horizon {text!r} must be positive", field="--horizon")
    return timedelta(minutes=minutes)


def _duration_minutes(text: str, option: str) -> int:
    units = {"min": 1, "m": 1, "h": 60, "d": 1440, "w": 10080, "": 1}
    raw = text.strip().lower()
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number) :]
    if unit in {"mins", "minute", "minutes"}:
        unit = "min"
    elif unit in {"hour", "hours"}:
        unit = "h"
    elif unit in {"day", "days"}:
        unit = "d"
    if unit not in units or not number.strip().isdigit():
        raise ValidationFailed(f"{text!r} is not a duration (examples: 30min, 1h, 14d, 2w)", field=option)
    return int(number) * units[unit]


def read_history_csv(path: Path, *, zone: ZoneInfo | None = None) -> dict[str | None, VolumeHistory]:
    """Channels (None when the file has no channel column) and their histories, checked line by line."""
    try:
        return _read_rows(path, zone)
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot read ({exc.strerror or exc})", field="HISTORY") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed(f"{path}: not a UTF-8 CSV file ({exc})", field="HISTORY") from None


def _read_rows(path: Path, zone: ZoneInfo | None) -> dict[str | None, VolumeHistory]:
    gzipped = path.suffix == ".gz"
    with (
        gzip.open(path, "rt", encoding="utf-8-sig", newline="")
        if gzipped
        else path.open(encoding="utf-8-sig", newline="")
    ) as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise ValidationFailed(
                f"{path}, line 1: missing column(s) {', '.join(missing)}"
                f" (need timestamp,volume and optionally channel)",
                field="HISTORY",
            )
        reader.fieldnames = header
        has_channel = "channel" in header
        rows: dict[str | None, list[tuple[datetime, float, int]]] = {}
        for record in reader:
            line = reader.line_num
            stamp_text = (record.get("timestamp") or "").strip()
            try:
                stamp = datetime.fromisoformat(stamp_text.replace("Z", "+00:00"))
            except ValueError:
                raise ValidationFailed(
                    f"{path}, line {line}: timestamp {stamp_text!r} is not ISO 8601", field="timestamp"
                ) from None
            volume_text = (record.get("volume") or "").strip()
            try:
                volume = float(volume_text)
            except ValueError:
                raise ValidationFailed(
                    f"{path}, line {line}: volume {volume_text!r} is not a number", field="volume"
                ) from None
            if not math.isfinite(volume) or volume < 0:
                raise ValidationFailed(
                    f"{path}, line {line}: volume {volume_text!r} must be zero or more", field="volume"
                )
            channel = (record.get("channel") or "").strip() if has_channel else None
            if has_channel and not channel:
                raise ValidationFailed(f"{path}, line {line}: empty channel", field="channel")
            rows.setdefault(channel, []).append((stamp, volume, line))
    if not rows:
        raise ValidationFailed(f"{path}: no rows", field="HISTORY")
    return {channel: _history_from_rows(path, items, zone) for channel, items in rows.items()}


def _history_from_rows(
    path: Path, rows: list[tuple[datetime, float, int]], zone: ZoneInfo | None
) -> VolumeHistory:
    aware = rows[0][0].tzinfo is not None
    previous: datetime | None = None
    for stamp, _volume, line in rows:
        if (stamp.tzinfo is not None) != aware:
            raise ValidationFailed(
                f"{path}, line {line}: mixes timestamps with and without a UTC offset", field="timestamp"
            )
        if previous is not None:
            if stamp == previous:
                raise ValidationFailed(
                    f"{path}, line {line}: duplicate timestamp {stamp.isoformat()}", field="timestamp"
                )
            if stamp < previous:
                raise ValidationFailed(
                    f"{path}, line {line}: timestamp {stamp.isoformat()} is earlier than"
                    f" the line before (times must increase)",
                    field="timestamp",
                )
        previous = stamp
    stamps = [stamp for stamp, _v, _l in rows]
    out_zone: tzinfo
    if zone is not None:
        out_zone = zone
        wall = [stamp.astimezone(zone).replace(tzinfo=None) for stamp in stamps] if aware else stamps
    else:
        last_offset = stamps[-1].utcoffset() if aware else None
        out_zone = timezone(last_offset) if last_offset is not None else UTC
        wall = [stamp.replace(tzinfo=None) for stamp in stamps]
    volume = np.array([v for _s, v, _l in rows], dtype=np.float64)
    return VolumeHistory(wall=pd.DatetimeIndex(wall), volume=volume, zone=out_zone, source=str(path))


def history_from_frame(
    frame: pd.DataFrame, *, zone: ZoneInfo | None = None, source: str = "history"
) -> VolumeHistory:
    """A history from a frame with `timestamp` (datetimes) and `volume` columns, as the desk query gives."""
    rows = [
        (pd.Timestamp(stamp).to_pydatetime(), float(volume), index + 2)
        for index, (stamp, volume) in enumerate(zip(frame["timestamp"], frame["volume"], strict=True))
    ]
    if not rows:
        raise ValidationFailed("the history is empty", field="history")
    return _history_from_rows(Path(source), rows, zone)


def to_grid(history: VolumeHistory, step_minutes: int, special_days: Mapping[date, DayKind]) -> Grid:
    """Aggregate to the interval on a day x slot grid, find the operating pattern, fill gaps, clip."""
    stamps = history.wall.asi8 // 60_000_000_000  # wall-clock minutes since the epoch
    steps = np.diff(stamps)
    steps = steps[steps > 0]
    if steps.size:
        native = float(np.median(steps))
        if native > step_minutes:
            raise ValidationFailed(
                f"{history.source}: history is at {native:g}-minute intervals, coarser than the"
                f" forecast interval of {step_minutes} minutes",
                field="--interval",
            )
    slots = 1440 // step_minutes
    day_number = stamps // 1440
    day_index = day_number - day_number[0]
    slot_index = (stamps % 1440) // step_minutes
    days = int(day_index[-1]) + 1
    flat = np.zeros(days * slots)
    seen = np.zeros(days * slots, dtype=bool)
    cells = day_index * slots + slot_index
    np.add.at(flat, cells, history.volume)
    seen[cells] = True
    values = np.where(seen, flat, np.nan).reshape(days, slots)
    first_day = history.wall[0].date()
    grid = Grid(
        first_day=first_day,
        step_minutes=step_minutes,
        values=values,
        open_mask=np.zeros((7, slots), dtype=bool),
    )
    grid.open_mask = _operating_pattern(grid)
    _trim_partial_days(grid, day_index, slot_index)
    if grid.days < MIN_HISTORY_DAYS:
        raise ValidationFailed(
            f"{history.source}: history covers {grid.days} whole day(s); at least"
            f" {MIN_HISTORY_DAYS} are needed",
            field="HISTORY",
        )
    _mask_special_days(grid, special_days)
    grid.values[~grid.open_cells()] = np.nan
    grid.filled = _fill_gaps(grid)
    grid.clipped = _clip_outliers(grid)
    return grid


def _operating_pattern(grid: Grid) -> BoolArray:
    recent = min(grid.days, PATTERN_WEEKS * 7)
    start = grid.days - recent
    observed = ~np.isnan(grid.values[start:])
    weekday = grid.weekdays(start)
    counts = np.zeros((7, grid.slots))
    presence = np.zeros((7, 1))
    for day in range(7):
        rows = weekday == day
        counts[day] = observed[rows].sum(axis=0)
        presence[day] = rows.sum()
    return np.asarray((counts > 0) & (counts >= presence / 2), dtype=bool)


def _trim_partial_days(grid: Grid, day_index: NDArray[np.int64], slot_index: NDArray[np.int64]) -> None:
    """Drop a first or last day that the history covers only in part; they would read as gaps."""
    first_open = grid.open_mask[grid.first_day.weekday()]
    drop_first = bool(first_open[: slot_index[0]].any())
    last_open = grid.open_mask[int(grid.weekdays(grid.days - 1, 1)[0])]
    drop_last = bool(last_open[slot_index[-1] + 1 :].any())
    start = 1 if drop_first else 0
    stop = grid.days - 1 if drop_last else grid.days
    grid.values = grid.values[start:stop].copy()
    grid.first_day = grid.first_day + timedelta(days=start)


def _mask_special_days(grid: Grid, special_days: Mapping[date, DayKind]) -> None:
    for day, kind in special_days.items():
        row = (day - grid.first_day).days
        if 0 <= row < grid.days:
            grid.special[row] = kind


def _fill_gaps(grid: Grid) -> int:
    """Fill open missing cells (and special days) from the same slot in nearby weeks; count them."""
    values = grid.values
    open_cells = grid.open_cells()
    missing = open_cells & np.isnan(values)
    special_rows = sorted(grid.special)
    for row in special_rows:
        grid.observed_special[row] = values[row].copy()
        values[row] = np.nan
    missing |= open_cells & np.isnan(values)
    count = int(missing.sum())
    if not count:
        return 0
    source = values.copy()
    for row, col in zip(*np.nonzero(missing), strict=True):
        same = np.arange(row % 7, grid.days, 7)
        near = same[(np.abs(same - row) <= 14) & (same != row)]
        candidates = source[near, col]
        candidates = candidates[~np.isnan(candidates)]
        if candidates.size == 0:
            candidates = source[same, col]
            candidates = candidates[~np.isnan(candidates)]
        values[row, col] = float(np.median(candidates)) if candidates.size else 0.0
    return count - sum(int(open_cells[row].sum()) for row in special_rows)


def _median_of_four(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> FloatArray:
    """Element-wise median of four arrays by min/max (far cheaper than np.median on a stack)."""
    low = np.maximum(np.minimum(a, b), np.minimum(c, d))  # the larger of the two smaller ones
    high = np.minimum(np.maximum(a, b), np.maximum(c, d))  # the smaller of the two larger ones
    return np.asarray((low + high) / 2)


def _clip_outliers(grid: Grid) -> int:
    values = grid.values
    open_cells = grid.open_cells()
    dense = np.where(open_cells, values, 0.0)
    baseline = np.zeros_like(values)
    first = grid.first_day.weekday()
    for offset in range(7):
        rows = np.arange(offset, grid.days, 7)
        columns = grid.open_mask[(first + offset) % 7]
        if rows.size == 0 or not columns.any():
            continue
        # The value itself is left out of its baseline (and the ends reflect rather than repeat), so
        # a spike never explains itself.
        block = dense[rows][:, columns]
        width = ((2, 2), (0, 0))
        padded = np.pad(block, width, mode="reflect") if rows.size >= 3 else np.pad(block, width, mode="edge")
        baseline[np.ix_(rows, columns)] = _median_of_four(*(padded[k : k + len(rows)] for k in (0, 1, 3, 4)))
    root = np.sqrt(np.maximum(baseline, 0.0) + 1.0)
    scaled = (values - baseline) / root
    deviations = np.abs(scaled[open_cells])
    spread = 1.4826 * float(np.median(deviations)) if deviations.size else 0.0
    if spread <= 0 and deviations.size:  # mostly-constant series: fall back to the mean deviation
        spread = 1.2533 * float(deviations.mean())
    if spread <= 0:
        return 0
    bound = OUTLIER_SIGMAS * spread * root
    high = open_cells & (values > baseline + bound)
    low = open_cells & (values < baseline - bound)
    values[high] = (baseline + bound)[high]
    values[low] = np.maximum(baseline - bound, 0.0)[low]
    return int(high.sum() + low.sum())
