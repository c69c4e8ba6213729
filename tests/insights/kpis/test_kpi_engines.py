"""The same numbers either way: `opsdesk kpi` over the database with the frame definitions, with DuckDB,
and with DuckDB over the Parquet files `opsdesk export parquet` writes, on tickets written by the desk's
own actions (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy.orm import Session

from opsdesk.insights.kpis.catalogue import METRICS
from opsdesk.insights.kpis.duck_source import TYPES
from tests.insights.kpis.test_kpi_database import PERIOD, cli_rows, history, runner

__all__ = ["history"]  # the fixture, used by name

CASES = (
    ("", False),
    ("week,channel,site", False),
    ("day,agent,tier,priority,group,segment", True),
    ("month,tag", True),
)


def export(directory: Path) -> str:
    from opsdesk.cli import app

    result = runner.invoke(app, ["export", "parquet", str(directory)])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_engine_and_the_parquet_export_give_the_same_rows(history: Session, tmp_path: Path) -> None:
    export(tmp_path / "kpis")
    for by, business_hours in CASES:
        args = [*METRICS, *PERIOD, "--by", by, *(["--business-hours"] if business_hours else [])]
        reference = cli_rows(*args, "--engine", "pandas")
        assert {r["metric"] for r in reference} >= {"first_reply_time", "tickets_created", "csat", "aht"}
        assert cli_rows(*args, "--engine", "duckdb") == reference
        assert cli_rows(*args, "--parquet", str(tmp_path / "kpis")) == reference
        assert cli_rows(*args, "--parquet", str(tmp_path / "kpis"), "--engine", "pandas") == reference
    solved = ["first_resolution_time", "tickets_solved", "reopen_rate", "--date", "solved", *PERIOD]
    assert cli_rows(*solved, "--engine", "duckdb") == cli_rows(*solved, "--engine", "pandas")


def test_the_export_holds_numbers_and_labels_only(history: Session, tmp_path: Path) -> None:
    out = export(tmp_path / "kpis")
    assert "tickets 3" in out and "events" in out
    con = duckdb.connect()
    tickets = con.execute(f"SELECT * FROM read_parquet('{tmp_path}/kpis/tickets.parquet')").df()
    assert sorted(tickets["channel"]) == ["chat", "email", "email"]
    assert int(tickets["merged"].sum()) == 1
    for table in ("tickets", "events", "tags", "calls", "agents"):
        text = con.execute(f"SELECT * FROM read_parquet('{tmp_path}/kpis/{table}.parquet')").df().to_csv()
        assert "Card declined" not in text and "alice" not in text and "fixed" not in text
    assert not list((tmp_path / "kpis").glob(".*"))  # no partial file left behind
    for table, types in TYPES.items():
        columns = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/kpis/{table}.parquet')"
        ).fetchall()
        assert [c[0] for c in columns] == list(types)


def test_the_exported_event_log_can_be_mined(history: Session, tmp_path: Path) -> None:
    from opsdesk.cli import app

    export(tmp_path / "kpis")
    events = tmp_path / "kpis" / "events.parquet"
    args = ["--case", "ticket_id", "--activity", "type", "--timestamp", "at", "-o", str(tmp_path / "r.json")]
    result = runner.invoke(app, ["mine", str(events), *args])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["cases"], report["events"]) == (3, len(pd.read_parquet(events)))
    assert {e["source"] for e in report["edges"]} >= {"ticket_created"}


def test_bad_engine_or_missing_export_is_refused_naming_the_option(history: Session, tmp_path: Path) -> None:
    from tests.insights.kpis.test_kpi_database import cli

    code, out = cli("csat", *PERIOD, "--engine", "spark")
    assert code == 2 and "--engine" in out
    code, out = cli("csat", *PERIOD, "--parquet", str(tmp_path))
    assert code == 2 and "--parquet" in out and "tickets.parquet" in out


def test_rows_from_the_exported_ticket_facts_equal_rows_from_the_events(
    history: Session, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from opsdesk.insights.exports.parquet import export_parquet
    from opsdesk.insights.kpis.duck_facts import FACTS_FILE
    from opsdesk.insights.kpis.duck_source import DuckSource
    from opsdesk.insights.kpis.queries import kpi_rows
    from opsdesk.insights.kpis.request import kpi_request

    now = datetime(2026, 4, 1, tzinfo=UTC)
    written = export_parquet(history, tmp_path / "facts", now=now)
    assert written["ticket_facts"] == 3
    export_parquet(history, tmp_path / "events", now=now)
    (tmp_path / "events" / FACTS_FILE).unlink()
    assert DuckSource.of_parquet(tmp_path / "facts").facts is not None
    assert DuckSource.of_parquet(tmp_path / "events").facts is None
    for by, business_hours in CASES:
        request = kpi_request(
            metrics=METRICS, start="2026-03-01", end="2026-03-31", by=by, business_hours=business_hours
        )
        from_facts = kpi_rows(history, request, now=now, parquet=tmp_path / "facts")
        assert {r["metric"] for r in from_facts} >= {"first_reply_time", "reopen_rate", "csat"}
        assert from_facts == kpi_rows(history, request, now=now, parquet=tmp_path / "events")
