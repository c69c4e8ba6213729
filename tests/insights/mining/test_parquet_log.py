"""`opsdesk mine` reads an event log from Parquet through DuckDB (as the KPIs' large histories are read)
and reports exactly what it reports for the same log in CSV; bad files are refused naming the row."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from opsdesk.cli import app
from tests.insights.mining.test_discovery import ROWS, log_of

runner = CliRunner()


def mine(path: Path, out: Path) -> dict[str, object]:
    result = runner.invoke(
        app,
        [
            "mine",
            str(path),
            "--case",
            "case",
            "--activity",
            "activity",
            "--timestamp",
            "time",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(out.read_text())
    return report


def test_parquet_and_csv_give_the_same_report(tmp_path: Path) -> None:
    frame = log_of(ROWS)
    frame.to_parquet(tmp_path / "log.parquet")  # time as a timestamp column
    frame.assign(time=frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        tmp_path / "log.csv", index=False
    )
    from_parquet = mine(tmp_path / "log.parquet", tmp_path / "a.json")
    assert from_parquet == mine(tmp_path / "log.csv", tmp_path / "b.json")
    assert (from_parquet["cases"], from_parquet["events"]) == (3, 8)
    texts = frame.assign(time=frame["time"].dt.strftime("%Y/%m/%d %H:%M:%S"))
    texts.to_parquet(tmp_path / "text.parquet")  # timestamps as text are parsed like the CSV's
    assert mine(tmp_path / "text.parquet", tmp_path / "c.json") == from_parquet


def test_bad_parquet_input_names_the_column_or_row(tmp_path: Path) -> None:
    args = ["--case", "case", "--activity", "activity", "--timestamp", "time", "-o", str(tmp_path / "r.json")]
    log_of(ROWS).drop(columns="time").to_parquet(tmp_path / "no_time.parquet")
    result = runner.invoke(app, ["mine", str(tmp_path / "no_time.parquet"), *args])
    assert result.exit_code == 2 and "no column 'time'" in result.output
    gap = log_of(ROWS)
    gap.loc[3, "activity"] = None
    gap.to_parquet(tmp_path / "gap.parquet")
    result = runner.invoke(app, ["mine", str(tmp_path / "gap.parquet"), *args])
    assert result.exit_code == 2 and "line 4: empty 'activity'" in result.output
    (tmp_path / "junk.parquet").write_text("not parquet")
    result = runner.invoke(app, ["mine", str(tmp_path / "junk.parquet"), *args])
    assert result.exit_code == 2 and "not a readable Parquet file" in result.output
    assert pd.read_parquet(tmp_path / "gap.parquet").shape == (8, 3)
