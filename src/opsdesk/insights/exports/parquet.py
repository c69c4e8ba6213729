"""``opsdesk export parquet DIR``: the KPI frames of every ticket as Parquet files, one per view of
:mod:`opsdesk.insights.kpis.duck_source` (tickets, events, tags, calls, agents), which ``opsdesk kpi
--parquet DIR`` and any other engine read without touching the database.

Only what KPIs read leaves the database: numbers, statuses, channels and group labels, never a subject,
a body or a requester's name; and a tag seen only on sensitive tickets is written as ``(restricted)``,
as KPI grouping shows it, so the files reveal nothing a KPI reader may not see. Each file is written
beside its final name and renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session

from opsdesk.insights.kpis.duck_source import TABLES, TYPES, DuckSource
from opsdesk.insights.kpis.loader import load_all
from opsdesk.insights.kpis.summary import visible_tags


def export_parquet(session: Session, directory: Path) -> dict[str, int]:
    """Writes ``DIR/<table>.parquet`` for each KPI view; returns the rows written per table."""
    frames, _schedules, _policies = load_all(session)
    frames = replace(frames, tags=visible_tags(frames.tickets, frames.tags))
    source = DuckSource.of_frames(frames)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table in TABLES:
        final = directory / f"{table}.parquet"
        partial = directory / f".{table}.parquet.partial"
        target = str(partial).replace("'", "''")
        columns = ", ".join(f'"{c}"' for c in TYPES[table])
        source.con.execute(
            f"COPY (SELECT {columns} FROM {table}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        )
        os.replace(partial, final)
        (count,) = source.con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
        written[table] = int(count)
    return written
