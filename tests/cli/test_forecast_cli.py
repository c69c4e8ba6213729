"""`opsdesk forecast` end to end through the real command line, on files and on the desk's events."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.events import append_event
from opsdesk.core.settings import get_settings
from tests.workforce.test_forecast import hourly_mean

runner = CliRunner()
HEADER = ["timestamp", "forecast", "lo80", "hi80", "lo95", "hi95"]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def history_lines(days: int = 28, channel: str | None = None, offset: str = "+00:00") -> list[str]:
    wall = pd.date_range("2026-01-05", periods=days * 24 * 2, freq="30min")
    volume = np.random.default_rng(1).poisson(hourly_mean(wall, 10))
    suffix = f",{channel}" if channel else ""
    return [f"{t.isoformat()}{offset},{v}{suffix}" for t, v in zip(wall, volume, strict=True)]


def write(tmp_path: Path, lines: list[str], header: str = "timestamp,volume") -> Path:
    path = tmp_path / "history.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_forecast_file_by_channel_at_a_coarser_interval(tmp_path: Path) -> None:
    lines = history_lines(channel="phone") + history_lines(channel="chat")
    source = write(tmp_path, lines, "timestamp,volume,channel")
    out = tmp_path / "forecast.csv"
    code, output = run("forecast", str(source), "--interval", "60min", "--horizon", "7d", "-o", str(out))
    assert code == 0, output
    result = rows(out)
    assert list(result[0]) == [*HEADER, "channel"]
    assert [r["channel"] for r in result].count("phone") == 7 * 24
    assert result[0]["timestamp"] == "2026-02-02T00:00:00+00:00"
    phone_noon = [float(r["forecast"]) for r in result if r["channel"] == "phone"][11]
    assert phone_noon == pytest.approx(
        2
        * float(
            hourly_mean(pd.DatetimeIndex(["2026-02-02 11:00"]), 10)[0]
            + hourly_mean(pd.DatetimeIndex(["2026-02-02 11:30"]), 10)[0]
        )
        / 2,
        rel=0.2,
    )
    assert all(float(r["lo95"]) <= float(r["forecast"]) <= float(r["hi95"]) for r in result)


def test_timezone_and_closed_days(tmp_path: Path) -> None:
    source = write(tmp_path, history_lines(offset="+01:00"))
    out = tmp_path / "forecast.csv"
    code, output = run(
        "forecast",
        str(source),
        "--horizon",
        "2d",
        "--timezone",
        "Europe/Paris",
        "--closed",
        "2026-02-02",
        "-o",
        str(out),
    )
    assert code == 0, output
    result = rows(out)
    assert len(result) == 96 and result[0]["timestamp"] == "2026-02-02T00:00:00+01:00"
    assert all(float(r["hi95"]) == 0 for r in result[:48])
    assert sum(float(r["forecast"]) for r in result[48:]) > 0


@pytest.mark.parametrize(
    ("lines", "header", "args", "message"),
    [
        (["2026-01-05T00:00:00Z,1"], "timestamp,count", [], "line 1: missing column(s) volume"),
        (["2026-01-05T00:30:00Z,1", "2026-01-05T00:00:00Z,1"], None, [], "line 3: timestamp"),
        (["2026-01-05T00:00:00Z,1", "2026-01-05T00:00:00Z,2"], None, [], "line 3: duplicate timestamp"),
        (["2026-01-05T00:00:00Z,-1"], None, [], "line 2: volume '-1' must be zero or more"),
        (["2026-01-05T00:00:00Z,1", "yesterday,1"], None, [], "line 3: timestamp 'yesterday' is not ISO"),
        (["2026-01-05T00:00:00Z,1"], None, ["--horizon", "soon"], "--horizon"),
        (["2026-01-05T00:00:00Z,1"], None, ["--interval", "7min"], "--interval"),
        (["2026-01-05T00:00:00Z,1"], None, ["--timezone", "Mars/Olympus"], "--timezone"),
        (["2026-01-05T00:00:00Z,1"], None, ["--closed", "someday"], "--closed"),
        (["2026-01-05T00:00:00Z,1"], None, [], "at least 21"),
    ],
)
def test_bad_input_is_named_with_exit_code_2(
    tmp_path: Path, lines: list[str], header: str | None, args: list[str], message: str
) -> None:
    source = write(tmp_path, lines, header or "timestamp,volume")
    code, output = run("forecast", str(source), "-o", str(tmp_path / "out.csv"), *args)
    assert code == 2
    assert message in output.replace("\n", " ")
    assert not (tmp_path / "out.csv").exists()


@pytest.fixture
def cli_db(engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_from_desk_forecasts_a_channel_from_ticket_created_events(cli_db: Session, tmp_path: Path) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    subject = 0
    for hour in range(23 * 24):
        at = start + timedelta(hours=hour)
        for minute in range(0, 60, 20) if 8 <= at.hour < 18 else []:
            subject += 1
            append_event(
                cli_db,
                subject_type="ticket",
                subject_id=subject,
                type="ticket_created",
                at=at + timedelta(minutes=minute),
                data={"channel": "phone"},
            )
    append_event(
        cli_db,
        subject_type="ticket",
        subject_id=0,
        type="ticket_created",
        at=start,
        data={"channel": "email"},
    )
    cli_db.commit()
    out = tmp_path / "forecast.csv"
    code, output = run(
        "forecast",
        "--from-desk",
        "--channel",
        "phone",
        "--interval",
        "60min",
        "--horizon",
        "1d",
        "-o",
        str(out),
    )
    assert code == 0, output
    result = rows(out)
    assert list(result[0]) == [*HEADER, "channel"] and len(result) == 24
    by_hour = {datetime.fromisoformat(r["timestamp"]).hour: float(r["forecast"]) for r in result}
    assert by_hour[9] == pytest.approx(3, abs=0.2) and by_hour[20] == pytest.approx(0, abs=0.2)

    code, output = run("forecast", "--from-desk", "-o", str(out))
    assert code == 2 and "--channel" in output
    code, output = run("forecast", "--from-desk", "--channel", "social", "-o", str(out))
    assert code == 2 and "no tickets on channel 'social'" in output
    code, output = run("forecast", "--from-desk", "--channel", "email", "-o", str(out))
    assert code == 2 and "the desk's email history: history covers 1 whole day" in output


def test_customers_option_scales_the_forecast(tmp_path: Path) -> None:
    source = write(tmp_path, history_lines())
    customers = tmp_path / "customers.csv"
    customers.write_text("timestamp,customers\n2026-01-01T00:00:00Z,100\n2026-02-02T00:00:00Z,200\n")
    plain, scaled = tmp_path / "plain.csv", tmp_path / "scaled.csv"
    assert run("forecast", str(source), "--horizon", "1d", "-o", str(plain))[0] == 0
    code, output = run(
        "forecast", str(source), "--horizon", "1d", "--customers", str(customers), "-o", str(scaled)
    )
    assert code == 0, output
    ratio = sum(float(r["forecast"]) for r in rows(scaled)) / sum(float(r["forecast"]) for r in rows(plain))
    assert ratio == pytest.approx(2.0, rel=0.05)


def test_the_readmes_example_history_forecasts(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "history.csv"
    out = tmp_path / "forecast.csv"
    code, output = run("forecast", str(example), "--interval", "30min", "--horizon", "14d", "-o", str(out))
    assert code == 0, output
    forecast = rows(out)
    assert len(forecast) == 14 * 48 and list(forecast[0]) == HEADER
    assert float(forecast[0]["forecast"]) >= 0
