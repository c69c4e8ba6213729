"""KPI rows from the database or its Parquet export: what the command line and the API both call, so
their rows are equal. The engine is chosen here: DuckDB for Parquet and for large histories (``auto``),
the frame definitions otherwise; both give the same rows (the fixture tests run both)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.insights.kpis.request import KpiRequest

ENGINES = ("auto", "pandas", "duckdb")  # the command line repeats these, to stay light at start
AUTO_DUCKDB_EVENTS = 200_000
"""From this many events read for a request, ``auto`` hands the frames to DuckDB."""


def kpi_rows(
    session: Session, request: KpiRequest, *, now: datetime, engine: str = "auto", parquet: Path | None = None
) -> list[dict[str, Any]]:
    """``parquet``: read the tickets and events from that export folder (schedules and SLA policies
    still come from the database)."""
    from opsdesk.insights.kpis import duck_engine
    from opsdesk.insights.kpis.duck_source import DuckSource
    from opsdesk.insights.kpis.engine import compute
    from opsdesk.insights.kpis.loader import load, load_measures

    if parquet is not None:
        schedules, policies = load_measures(session)
        source = DuckSource.of_parquet(parquet)
        if engine == "pandas":
            return compute(source.frames(request), request, now=now, schedules=schedules, policies=policies)
        return duck_engine.compute(source, request, now=now, schedules=schedules, policies=policies)
    frames, schedules, policies = load(session, request)
    if engine == "duckdb" or (engine == "auto" and len(frames.events) >= AUTO_DUCKDB_EVENTS):
        return duck_engine.compute(
            DuckSource.of_frames(frames), request, now=now, schedules=schedules, policies=policies
        )
    return compute(frames, request, now=now, schedules=schedules, policies=policies)
