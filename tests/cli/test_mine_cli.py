"""`opsdesk mine` through the real command line: the REPORT.json contract, gzip input, day-first dates,
and errors that name the file and the line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.cli.test_forecast_cli import run

LOG = """ticket;step;when;agent
T1;open;2/3/2026 09:00;ann
T2;open;2/3/2026 09:00;ann
T1;escalate;2/3/2026 09:10;bob
T1;solve;2/3/2026 09:10;ann
T2;solve;2/3/2026 10:00;ann
T3;open;3/3/2026 08:00;cid
T3;escalate;3/3/2026 08:30;bob
T3;solve;3/3/2026 09:00;cid
"""


def write(path: Path, text: str, *, zipped: bool = False) -> Path:
    text = text.replace(";", ",")
    if zipped:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def mine(events: Path, out: Path, *extra: str) -> tuple[int, str]:
    return run(
        "mine",
        str(events),
        "--case",
        "ticket",
        "--activity",
        "step",
        "--timestamp",
        "when",
        "-o",
        str(out),
        *extra,
    )


def test_report_holds_the_contract_fields(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, output = mine(write(tmp_path / "events.csv", LOG), out, "--resource", "agent", "--dayfirst")
    assert code == 0, output
    report = json.loads(out.read_text())
    assert (report["cases"], report["events"]) == (3, 8)
    assert report["variants"] == [
        {
            "activities": ["open", "escalate", "solve"],
            "count": 2,
            "share": 2 / 3,
            "median_duration_s": 2100.0,
            "mean_duration_s": 2100.0,
            "min_duration_s": 600.0,
            "max_duration_s": 3600.0,
        },
        {
            "activities": ["open", "solve"],
            "count": 1,
            "share": 1 / 3,
            "median_duration_s": 3600.0,
            "mean_duration_s": 3600.0,
            "min_duration_s": 3600.0,
            "max_duration_s": 3600.0,
        },
    ]
    edges = {(e["source"], e["target"]): e for e in report["edges"]}
    assert set(edges) == {("open", "escalate"), ("escalate", "solve"), ("open", "solve")}
    assert {k: edges[("open", "escalate")][k] for k in ("count", "mean_s", "median_s")} == {
        "count": 2,
        "mean_s": 1200.0,
        "median_s": 1200.0,
    }
    assert edges[("escalate", "solve")]["median_s"] == 900.0  # 0 s (same minute, file order) and 1800 s
    assert report["rework"]["ping_pong"][0]["patterns"] == [
        {"path": ["ann", "bob", "ann"], "count": 1},
        {"path": ["cid", "bob", "cid"], "count": 1},
    ]
    assert "3 cases, 8 events, 2 variants, 3 edges" in output


def test_gzip_input_gives_the_same_report(tmp_path: Path) -> None:
    plain, zipped = tmp_path / "plain.json", tmp_path / "zipped.json"
    assert mine(write(tmp_path / "e.csv", LOG), plain, "--dayfirst")[0] == 0
    assert mine(write(tmp_path / "e.csv.gz", LOG, zipped=True), zipped, "--dayfirst")[0] == 0
    assert json.loads(plain.read_text()) == json.loads(zipped.read_text())


def test_without_dayfirst_the_dates_are_month_first(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert mine(write(tmp_path / "e.csv", LOG), out)[0] == 0
    durations = {
        tuple(v["activities"]): v["median_duration_s"] for v in json.loads(out.read_text())["variants"]
    }
    assert durations[("open", "solve")] == 3600.0  # still 1 hour; T3 now runs on 2 March (US), not 3 March
    assert (json.loads(out.read_text())["cases"]) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (LOG + "T4;open;yesterday;ann\n", "line 10: unreadable timestamp 'yesterday' in column 'when'"),
        (
            LOG.replace("T2;solve;2/3/2026 10:00;ann", "T2;solve;2/3/2026 10:00;ann;extra"),
            "line 6: expected 4 fields, found 5",
        ),
        (LOG.replace("T3;open;", ";open;"), "line 7: empty 'ticket'"),
        (LOG.replace("ticket;", "case;"), "line 1: no column 'ticket'"),
    ],
)
def test_a_bad_file_names_the_file_and_the_line(tmp_path: Path, text: str, message: str) -> None:
    events = write(tmp_path / "events.csv", text)
    out = tmp_path / "r.json"
    code, output = mine(events, out, "--dayfirst")
    assert code == 2
    assert f"{events}: {message}" in output
    assert not out.exists()


def test_an_unreadable_gzip_file_is_named(tmp_path: Path) -> None:
    events = tmp_path / "events.csv.gz"
    events.write_bytes(gzip.compress(LOG.encode())[:40])
    code, output = mine(events, tmp_path / "r.json")
    assert code == 2
    assert f"{events}: not a readable CSV file" in output
