"""Reading an external event log from CSV (plain or gzip) or Parquet into an EventLog, with errors that name
the file and the line (the row, for Parquet), so a user can open the file at the row that is wrong."""

from __future__ import annotations

import csv as csv_module
import gzip
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsdesk.insights.mining.log import EventLog

if TYPE_CHECKING:
    import pandas as pd


class EventLogError(ValueError):
    """Input that cannot be mined; ``line`` is 1-based in the file (the header is line 1) when known."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path}: line {line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


def _compression(path: Path) -> str | None:
    with path.open("rb") as handle:
        return "gzip" if handle.read(2) == b"\x1f\x8b" else None


def _read_table(path: Path, columns: list[str], *, threads: bool) -> tuple[Any, list[Any]]:
    import pyarrow as pa
    from pyarrow import csv

    invalid: list[Any] = []

    def skip(row: Any) -> str:
        invalid.append(row)
        return "skip"

    with pa.input_stream(str(path), compression=_compression(path)) as stream:
        table = csv.read_csv(
            stream,
            read_options=csv.ReadOptions(use_threads=threads),
            parse_options=csv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
            convert_options=csv.ConvertOptions(
                include_columns=columns,
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    return table, invalid


def _header(path: Path) -> list[str]:
    opener = gzip.open if _compression(path) == "gzip" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return next(csv_module.reader(handle), [])


def read_csv_columns(path: Path, columns: list[str]) -> pd.DataFrame:
    """The named columns as text (pyarrow-backed), empty cells missing; a UTF-8 byte-order mark is
    dropped. A row with more or fewer fields than the header is an error naming its line."""
    import pandas as pd
    import pyarrow as pa

    if not path.is_file():
        raise EventLogError(path, "no such file")
    try:
        header = _header(path)
        missing = [name for name in columns if name not in header]
        if missing:
            raise EventLogError(path, f"no column {missing[0]!r}; the header has {header}", line=1)
        table, invalid = _read_table(path, columns, threads=True)
        if invalid:  # numbered only by a single-threaded read: read again to name the line
            _, invalid = _read_table(path, columns, threads=False)
            row = invalid[0]
            raise EventLogError(
                path, f"expected {row.expected_columns} fields, found {row.actual_columns}", line=row.number
            )
    except (pa.ArrowInvalid, UnicodeDecodeError, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise EventLogError(path, f"not a readable CSV file ({exc})") from None
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame


def read_event_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    """The named columns of a Parquet file (as ``opsdesk export parquet`` writes, or any other), read
    through DuckDB like the KPIs' large histories: only those columns are scanned, in file order.
    Timestamp columns stay timestamps; anything else is text."""
    import duckdb

    from opsdesk.insights.kpis.duck_source import connect

    if not path.is_file():
        raise EventLogError(path, "no such file")
    con = connect()
    source = "read_parquet('" + str(path).replace("'", "''") + "')"
    try:
        header = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        kinds = dict(
            con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall()
        )
    except duckdb.Error as exc:
        raise EventLogError(path, f"not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    missing = [name for name in columns if name not in header]
    if missing:
        raise EventLogError(path, f"no column {missing[0]!r}; the file has {header}")
    picked = ", ".join(
        f'"{name}"' if kinds[name].startswith("TIMESTAMP") else f'CAST("{name}" AS VARCHAR) AS "{name}"'
        for name in columns
    )
    frame: pd.DataFrame = con.execute(f"SELECT {picked} FROM {source}").df()
    return frame


def read_event_csv(
    path: Path,
    *,
    case: str,
    activity: str,
    timestamp: str,
    resource: str | None = None,
    group: str | None = None,
    dayfirst: bool = False,
) -> EventLog:
    """The event log in ``path``; rows of a case with equal timestamps keep their order in the file."""
    import numpy as np
    import pandas as pd

    from opsdesk.insights.mining.log import event_log, to_nanoseconds
    from opsdesk.insights.mining.timestamps import TimestampError, parse_timestamps

    attributes = [name for name in (resource, group) if name is not None]
    wanted = list(dict.fromkeys([case, activity, timestamp, *attributes]))
    parquet = path.suffix.lower() == ".parquet"
    frame = read_event_parquet(path, wanted) if parquet else read_csv_columns(path, wanted)
    first = 1 if parquet else 2  # the line of row 0: Parquet rows count from 1, CSV has a header
    if frame.empty:
        raise EventLogError(path, "no events" + ("" if parquet else " after the header"), line=first)
    for name in (case, activity, timestamp):
        empty = frame[name].isna().to_numpy()
        if empty.any():
            raise EventLogError(path, f"empty {name!r}", line=int(np.flatnonzero(empty)[0]) + first)
    try:
        if pd.api.types.is_datetime64_any_dtype(frame[timestamp].dtype):
            stamps = to_nanoseconds(frame[timestamp])
        else:
            stamps = parse_timestamps(frame[timestamp], dayfirst=dayfirst)
    except TimestampError as exc:
        raise EventLogError(path, f"{exc} in column {timestamp!r}", line=exc.row + first) from None
    return event_log(
        frame.assign(_timestamp_ns=stamps),
        case=case,
        activity=activity,
        timestamp="_timestamp_ns",
        attributes=list(dict.fromkeys(attributes)),
    )
