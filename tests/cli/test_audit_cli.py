"""`opsdesk audit list` through the real command line parser on the test database (issue 9, defect 5):
filters, table and CSV, bad input as a clean error, and the trace the read leaves, read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.audit_queries import AuditFilters, audit_rows
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry
from opsdesk.core.settings import get_settings
from tests.web.test_api_audit import SECRET_SUBJECT, AuditWorld, arrange_audit_log

runner = CliRunner()


@pytest.fixture
def world(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AuditWorld]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield arrange_audit_log(db, clock)
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "list", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_csv_of_one_ticket_and_the_read_is_recorded(world: AuditWorld, db: Session) -> None:
    code, out = run("--ticket", str(world.a.id), "--format", "csv")
    assert code == 0, out
    records = list(csv.DictReader(io.StringIO(out)))
    assert [(r["actor_email"], r["action"]) for r in records] == [
        ("ana@audit.test", "ticket_read_denied"),
        ("bo@audit.test", "ticket_read"),
    ]
    assert SECRET_SUBJECT not in out
    db.rollback()  # read what the command committed
    trace = db.scalars(select(AuditEntry).where(AuditEntry.action == "audit_log_exported")).one()
    assert trace.actor_id is None and trace.detail["via"] == "cli" and trace.detail["os_user"]
    assert trace.detail["filters"] == {"ticket": world.a.id}


def test_table_filtered_by_person_action_and_time(world: AuditWorld, db: Session) -> None:
    code, out = run(
        "--person",
        "bo@audit.test",
        "--action",
        "ticket_read",
        "--since",
        "2026-03-04",
        "--until",
        "2026-03-05",
    )
    assert code == 0, out
    assert out.count("bo@audit.test") == 1 and f"ticket #{world.b.id}" in out and f"#{world.a.id} " not in out
    db.rollback()
    trace = db.scalars(select(AuditEntry).where(AuditEntry.action == "audit_log_read")).one()
    assert trace.detail["filters"] == {
        "actor_id": world.people["bo"].id,
        "action": "ticket_read",
        "since": "2026-03-04T00:00:00+00:00",
        "until": "2026-03-05T00:00:00+00:00",
    }


def test_table_says_when_it_shows_only_the_newest_rows(world: AuditWorld) -> None:
    code, out = run("--limit", "2")
    assert code == 0 and "the newest 2 rows" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--since", "0040-10-15"], "1900 to 2200"),
        (["--until", "tomorrow"], "is not a date"),
        (["--person", "nobody@audit.test"], "no person"),
        (["--format", "xml"], "--format must be one of"),
        (["--ticket", "2147483648"], "2147483647"),
        (["--action", "x" * 61], "at most 60"),
    ],
)
def test_bad_input_is_a_clean_error(world: AuditWorld, db: Session, args: list[str], words: str) -> None:
    code, out = run(*args)
    assert code == 2 and words in out, out
    db.rollback()
    assert db.scalars(select(AuditEntry).where(AuditEntry.subject_type == "audit_log")).all() == []


def test_the_export_reads_in_batches_and_misses_no_row(world: AuditWorld, db: Session) -> None:
    everything = [r.entry.id for r in audit_rows(db, filters=AuditFilters())]
    assert [r.entry.id for r in audit_rows(db, filters=AuditFilters(), batch=3)] == everything
    assert everything == sorted(everything, reverse=True) and len(everything) > 6
