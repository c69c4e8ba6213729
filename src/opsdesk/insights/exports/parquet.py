"""``opsdesk export parquet DIR``: the KPI frames of every ticket as Parquet files, one per view of
:mod:`opsdesk.insights.kpis.duck_source` (tickets, events, tags, calls, agents), which ``opsdesk kpi
--parquet DIR`` and any other engine read without touching the database.

Only what KPIs read leaves the database: numbers, statuses, channels and group labels, never a subject,
a body or a requester's name; and a tag seen only on sensitive tickets is written as ``(restricted)``,
as KPI grouping shows it, so the files reveal nothing a KPI reader may not see. Beside them goes
``ticket_facts.parquet``, one row per ticket derived from those files (:mod:`duck_facts`), which the
KPI engine reads instead of the events when it fits them. Each file is written
beside its final name and renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from opsdesk.insights.kpis import duck_facts
from opsdesk.insights.kpis.business_time import ScheduleVersions
from opsdesk.insights.kpis.duck_source import TABLES, TYPES, DuckSource
from opsdesk.insights.kpis.frames import KpiFrames
from opsdesk.insights.kpis.loader import load_all
from opsdesk.insights.kpis.sla import Policy
from opsdesk.insights.kpis.summary import visible_tags


def export_parquet(session: Session, directory: Path, *, now: datetime) -> dict[str, int]:
    """Writes ``DIR/<table>.parquet`` for each KPI view, then the per-ticket facts derived from them
    (``ticket_facts.parquet``, SLA outcomes as at ``now``); returns the rows written per file."""
    frames, schedules, policies = load_all(session)
    frames = replace(frames, tags=visible_tags(frames.tickets, frames.tags))
    return write_parquet(frames, directory, now=now, policies=policies, schedules=schedules)


def write_parquet(
    frames: KpiFrames,
    directory: Path,
    *,
    now: datetime,
    policies: Mapping[int, Policy],
    schedules: ScheduleVersions | None = None,
) -> dict[str, int]:
    """The export's files for these frames (tags already as KPI readers may see them)."""
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
    written["ticket_facts"] = duck_facts.derive(
        source.con, directory, now=now, policies=policies, schedules=schedules
    )
    return written
