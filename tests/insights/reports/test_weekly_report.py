"""The weekly report against `opsdesk kpi` for the same weeks (SQLite and PostgreSQL): the PDF's text and
the email's HTML carry exactly the command line's numbers, the movers are its per-channel/site/group rows,
and the email goes through a real SMTP server on loopback."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.settings import get_settings
from opsdesk.insights.reports.weekly import build_weekly
from tests.desk.channels.sink import smtp_sink
from tests.insights.reports.conftest import NOW

runner = CliRunner()
METRICS = (
    "tickets_created",
    "tickets_solved",
    "first_reply_time",
    "full_resolution_time",
    "sla_attainment",
    "csat",
    "reopen_rate",
)
WEEKS = {"current": ("2026-03-09", "2026-03-15"), "previous": ("2026-03-02", "2026-03-08")}


@pytest.fixture(autouse=True)
def fixed_cli_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both commands see the same now (SLA targets still running depend on it)."""
    monkeypatch.setattr("opsdesk.cli.kpi.clock", FixedClock(NOW))
    monkeypatch.setattr("opsdesk.cli.report.clock", FixedClock(NOW))


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def kpi_json(week: str, *by: str) -> list[dict[str, Any]]:
    start, end = WEEKS[week]
    args = ["kpi", *METRICS, "--from", start, "--to", end, "--format", "json"]
    code, out = invoke(*args, *(["--by", ",".join(by)] if by else []))
    assert code == 0, out
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


# Written here, apart from the report's own display module, so a wrong number or unit there fails.
def shown(row: dict[str, Any] | None, field: str, kind: str) -> str:
    if row is None:
        return "0" if kind == "count" else "n/a"
    value = row[field]
    if kind == "count":
        return str(int(value))
    if kind == "rate":
        return f"{100 * value:.1f}%"
    return f"{value / 60:.1f} min" if value < 3600 else f"{value / 3600:.2f} h"


LINES = [
    ("Tickets created", "tickets_created", None, "value", "count"),
    ("Tickets solved", "tickets_solved", None, "value", "count"),
    ("First reply time (median)", "first_reply_time", None, "median_s", "duration"),
    ("Full resolution time (median)", "full_resolution_time", None, "median_s", "duration"),
    ("SLA attainment (first_reply)", "sla_attainment", "first_reply", "value", "rate"),
    ("SLA attainment (resolution)", "sla_attainment", "resolution", "value", "rate"),
    ("CSAT", "csat", None, "value", "rate"),
    ("Reopen rate", "reopen_rate", None, "value", "rate"),
]


def pick(rows: list[dict[str, Any]], metric: str, target: str | None) -> dict[str, Any] | None:
    return next((r for r in rows if r["metric"] == metric and r.get("target") == target), None)


def pdf_text(data: bytes) -> str:
    """The PDF's text, each table cell on its own line joined by single spaces (as a row reads)."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def test_the_pdf_carries_the_numbers_of_opsdesk_kpi_for_the_same_weeks(
    two_weeks: Session, tmp_path: Path
) -> None:
    target = tmp_path / "weekly.pdf"
    code, out = invoke("report", "weekly", "--pdf", str(target), "--week", "2026-03-11")
    assert code == 0, out
    data = target.read_bytes()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Weekly report 2026-W11" in text
    assert "2026-03-09 to 2026-03-15, against the week of 2026-03-02" in text
    current, previous = kpi_json("current"), kpi_json("previous")
    # The fixture's hand-computed values, so the comparison below is not between two empty tables.
    assert pick(current, "tickets_created", None)["value"] == 4  # type: ignore[index]
    assert pick(previous, "tickets_created", None)["value"] == 2  # type: ignore[index]
    assert pick(current, "first_reply_time", None)["median_s"] == 4500.0  # type: ignore[index]  # 5, 30, 120, 240 min
    assert pick(current, "csat", None)["value"] == 0.5  # type: ignore[index]
    assert pick(current, "reopen_rate", None)["numerator"] == 1  # type: ignore[index]
    assert pick(current, "full_resolution_time", None)["median_s"] == 8.5 * 3600  # type: ignore[index]
    for label, metric, sla_target, field, kind in LINES:
        now_row, before_row = pick(current, metric, sla_target), pick(previous, metric, sla_target)
        expected = f"{label} {shown(now_row, field, kind)} {shown(before_row, field, kind)}"
        assert expected in text, (expected, text)


def test_movers_are_the_kpi_rows_by_channel_site_and_group(two_weeks: Session) -> None:
    report = build_weekly(two_weeks, week=date(2026, 3, 9), now=NOW, movers=100)
    assert report.movers, "the fixture moves every channel, site and group"
    for dimension in ("channel", "site", "group"):
        current, previous = kpi_json("current", dimension), kpi_json("previous", dimension)
        for mover in (m for m in report.movers if m.dimension == dimension):
            line = mover.figure.line
            now_row = next(
                r
                for r in current
                if r[dimension] == mover.group
                and r["metric"] == line.choice.metric
                and r.get("target") == line.target
            )
            before = [
                r
                for r in previous
                if r[dimension] == mover.group
                and r["metric"] == line.choice.metric
                and r.get("target") == line.target
            ]
            assert mover.figure.current == now_row[line.choice.stat]
            expected_before = before[0][line.choice.stat] if before else 0  # only counts may be absent
            assert mover.figure.previous == expected_before
    email = [m for m in report.movers if m.dimension == "channel" and m.group == "email"]
    created = next(m for m in email if m.figure.line.choice.metric == "tickets_created")
    assert (created.figure.previous, created.figure.current, created.figure.change) == (1, 2, 1)
    # Ranked within each KPI by the size of the move.
    for metric in METRICS:
        sizes = [abs(m.figure.change or 0) for m in report.movers if m.figure.line.choice.metric == metric]
        assert sizes == sorted(sizes, reverse=True)


def test_the_report_is_emailed_as_html_with_the_pdf_attached(
    two_weeks: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_sink() as sink:
        monkeypatch.setenv("OPSDESK_SMTP_URL", f"smtp://127.0.0.1:{sink.port}")
        get_settings.cache_clear()
        target = tmp_path / "weekly.pdf"
        code, out = invoke(
            "report", "weekly", "--to", "lead@example.com", "--pdf", str(target), "--week", "2026-03-15"
        )
        assert code == 0, out
    assert "sent to lead@example.com" in out
    assert len(sink.received) == 1
    sender, recipients, _raw = sink.received[0]
    assert (sender, recipients) == ("support@opsdesk.local", ["lead@example.com"])
    (mail,) = sink.messages()
    assert mail["Subject"] == "Weekly report 2026-W11 (2026-03-09 to 2026-03-15)"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "weekly-report-2026-03-09.pdf"
    assert attachment.get_content() == target.read_bytes()  # the same document as --pdf wrote
    current, previous = kpi_json("current"), kpi_json("previous")
    for label, metric, sla_target, field, kind in LINES:
        now_value = shown(pick(current, metric, sla_target), field, kind)
        before_value = shown(pick(previous, metric, sla_target), field, kind)
        assert f"{label}: {now_value} (previous week {before_value}" in text
        assert f">{now_value}</td>" in html and f">{before_value}</td>" in html
    assert "Biggest movers" in html and "<script" not in html


def test_sending_needs_an_smtp_server_and_arguments_are_checked(two_weeks: Session, tmp_path: Path) -> None:
    code, out = invoke("report", "weekly", "--to", "lead@example.com")
    assert code == 2 and "OPSDESK_SMTP_URL" in out
    code, out = invoke("report", "weekly")
    assert code == 2 and "--to" in out and "--pdf" in out
    code, out = invoke("report", "weekly", "--pdf", str(tmp_path / "x.pdf"), "--week", "last week")
    assert code == 2 and "--week" in out
    code, out = invoke("report", "weekly", "--pdf", str(tmp_path / "x.pdf"), "--week", "1066-10-14")
    assert code == 2 and "--week" in out
    code, out = invoke("report", "weekly", "--pdf", str(tmp_path / "x.pdf"), "--kpi", "csat:median")
    assert code == 2 and "--kpi" in out and "csat" in out
    code, out = invoke("report", "weekly", "--to", "nobody")
    assert code == 2 and "not an email address" in out
    assert not (tmp_path / "x.pdf").exists()


def test_chosen_kpis_and_statistics(two_weeks: Session, tmp_path: Path) -> None:
    target = tmp_path / "p90.pdf"
    code, out = invoke(
        "report",
        "weekly",
        "--pdf",
        str(target),
        "--week",
        "2026-03-09",
        "--kpi",
        "first_reply_time:p90,backlog",
    )
    assert code == 0, out
    text = pdf_text(target.read_bytes())
    start, end = WEEKS["current"]
    code, out = invoke("kpi", "first_reply_time", "--from", start, "--to", end, "--format", "json")
    (row,) = json.loads(out)
    assert f"First reply time (p90) {shown(row, 'p90_s', 'duration')}" in text
    assert "Backlog" in text and "Tickets created" not in text


def test_the_report_shows_each_kpi_against_its_desk_target(two_weeks: Session, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from opsdesk.insights.reports.targets import set_target

    day = datetime(2026, 3, 1, tzinfo=UTC)
    set_target(two_weeks, kpi="csat", low=0.8, high=None, now=day)
    set_target(two_weeks, kpi="first_reply_time", low=None, high=2 * 3600, now=day)
    set_target(two_weeks, kpi="sla_attainment", low=0.9, high=1, now=day, sla_target="resolution")
    set_target(two_weeks, kpi="tickets_created", low=1, high=None, now=day, scope="site", scope_name="Lisbon")
    two_weeks.commit()
    target = tmp_path / "weekly.pdf"
    code, out = invoke("report", "weekly", "--pdf", str(target), "--week", "2026-03-09")
    assert code == 0, out
    text = pdf_text(target.read_bytes())
    assert "CSAT 50.0% 100.0% -50.0 pp (worse) >= 80.0% (off target)" in text
    assert "First reply time (median) 1.25 h 35.0 min +40.0 min (worse) <= 2.00 h (on target)" in text
    assert "SLA attainment (resolution) 25.0% 100.0% -75.0 pp (worse) 90.0% to 100.0% (off target)" in text
    assert "Tickets created 4 2 +2 Tickets solved" in text  # a site's target is not the desk's
