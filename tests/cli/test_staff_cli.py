"""`opsdesk staff` end to end through the real command line parser, on files in a temp folder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsdesk.cli import app

runner = CliRunner()
PHONE = ["--aht", "180", "--service-level", "0.8", "--answer-within", "20", "--shrinkage", "0.3"]


def write(tmp_path: Path, text: str, name: str = "forecast.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_staff_writes_one_row_per_interval(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "timestamp,forecast,lo80,hi80,lo95,hi95\n"
        "2026-03-02T09:00:00Z,100,90,110,80,120\n"
        "2026-03-02T09:30:00Z,0,0,0,0,0\n"
        "2026-03-02T10:00:00Z,21.5,20,23,19,24\n",
    )
    out = tmp_path / "staff.csv"
    code, output = run("staff", str(source), *PHONE, "--max-occupancy", "0.85", "-o", str(out))
    assert code == 0, output
    table = rows(out)
    assert list(table[0]) == [
        "timestamp",
        "volume",
        "agents",
        "scheduled_agents",
        "service_level",
        "asa_seconds",
        "occupancy",
    ]
    assert [r["timestamp"] for r in table] == [
        "2026-03-02T09:00:00Z",
        "2026-03-02T09:30:00Z",
        "2026-03-02T10:00:00Z",
    ]
    assert (table[0]["agents"], table[0]["scheduled_agents"]) == ("14", "20")
    assert float(table[0]["service_level"]) == pytest.approx(0.8884, abs=1e-4)
    assert (table[1]["agents"], table[1]["scheduled_agents"], table[1]["service_level"]) == ("0", "0", "")


def test_volume_column_channel_filter_and_erlang_a(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "timestamp,volume,channel\n"
        "2026-03-02T09:00:00+00:00,40,chat\n"
        "2026-03-02T09:00:00+00:00,100,phone\n"
        "2026-03-02T09:15:00+00:00,45,chat\n"
        "2026-03-02T09:15:00+00:00,90,phone\n",
    )
    out = tmp_path / "staff.csv"
    code, output = run("staff", str(source), *PHONE, "--patience", "120", "-o", str(out))
    assert code == 0, output
    table = rows(out)
    assert [r["volume"] for r in table] == ["100", "90"]
    assert "abandon_rate" in table[0]
    code, output = run(
        "staff", str(source), "--channel", "chat", "--aht", "600", "--concurrency", "3", "-o", str(out)
    )
    assert code == 0, output
    assert [r["volume"] for r in rows(out)] == ["40", "45"]


def test_email_with_an_interval_given(tmp_path: Path) -> None:
    source = write(tmp_path, "timestamp,forecast\n2026-03-02T09:00:00Z,108\n")
    out = tmp_path / "staff.csv"
    code, output = run(
        "staff",
        str(source),
        "--channel",
        "email",
        "--aht",
        "300",
        "--answer-within",
        "900",
        "--max-occupancy",
        "0.9",
        "--interval",
        "15min",
        "-o",
        str(out),
    )
    assert code == 0, output
    assert rows(out)[0]["agents"] == "40"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,forecast\n2026-03-02T09:00:00Z,1\n", "line 1: no 'timestamp' column"),
        ("timestamp,calls\n2026-03-02T09:00:00Z,1\n", "line 1: no 'forecast' or 'volume'"),
        (
            "timestamp,forecast\n2026-03-02T09:00:00Z,1\n2026-03-02T09:15:00Z,-3\n",
            "line 3: volume -3 must be a number >= 0",
        ),
        (
            "timestamp,forecast\n2026-03-02T09:00:00Z,1\n2026-03-02T09:15:00Z,2\n2026-03-02T09:15:00Z,2\n",
            "line 4: timestamp repeats the one on line 3",
        ),
        (
            "timestamp,forecast\n2026-03-02T09:15:00Z,1\n2026-03-02T09:00:00Z,2\n",
            "line 3: timestamp goes back before the one on line 2",
        ),
        ("timestamp,forecast\n2026-03-02T09:00:00Z,1\nyesterday,2\n", "line 3: 'yesterday' is not an ISO"),
        ("timestamp,forecast\n2026-03-02T09:00:00Z,1\n2026-03-02T09:15:00Z,lots\n", "line 3: volume 'lots'"),
        ("timestamp,forecast\n2026-03-02T09:00:00Z,1\n", "pass --interval"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    source = write(tmp_path, text)
    code, output = run("staff", str(source), *PHONE, "-o", str(tmp_path / "out.csv"))
    assert code == 2
    assert message in " ".join(output.split())
    assert "forecast.csv" in output
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("options", "option"),
    [
        (["--shrinkage", "1"], "--shrinkage"),
        (["--max-occupancy", "0"], "--max-occupancy"),
        (["--service-level", "1.2"], "--service-level"),
        (["--aht", "-5"], "--aht"),
        (["--concurrency", "3"], "--concurrency"),
        (["--asa", "0"], "--asa"),
        (["--interval", "soon"], "--interval"),
    ],
)
def test_impossible_options_name_the_option(tmp_path: Path, options: list[str], option: str) -> None:
    source = write(tmp_path, "timestamp,forecast\n2026-03-02T09:00:00Z,10\n2026-03-02T09:15:00Z,12\n")
    code, output = run("staff", str(source), *PHONE, *options, "-o", str(tmp_path / "out.csv"))
    assert code == 2
    assert f"{option}:" in output
    assert "Traceback" not in output


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    code, output = run("staff", str(tmp_path / "nope.csv"), *PHONE, "-o", str(tmp_path / "out.csv"))
    assert code == 2
    assert "nope.csv" in output


def test_email_gap_names_the_line(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "timestamp,forecast\n2026-03-02T09:00:00Z,1\n2026-03-02T09:15:00Z,1\n2026-03-02T10:00:00Z,1\n",
    )
    code, output = run(
        "staff",
        str(source),
        "--channel",
        "email",
        "--aht",
        "300",
        "--answer-within",
        "3600",
        "-o",
        str(tmp_path / "out.csv"),
    )
    assert code == 2
    assert "line 4: intervals are missing after line 3" in " ".join(output.split())
