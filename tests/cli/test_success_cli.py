"""`opsdesk import ...` and `opsdesk retention` end to end through the real command line parser, on the
test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import get_settings
from opsdesk.success.models import Account, Subscription
from tests.factories import make_user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
runner = CliRunner()


@pytest.fixture
def cli_db(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """The command line pointed at the test database, with the example files' CSMs in it."""
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps at the terminal width
    get_settings.cache_clear()
    make_user(db, clock, Role.CSM, email="maria.lopez@example.com", password=None)
    make_user(db, clock, Role.CSM, email="sam.okafor@example.com", password=None)
    db.commit()
    yield db
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def count(db: Session, model: type) -> int:
    db.rollback()  # see what the command committed
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def import_examples() -> None:
    for kind in ("accounts", "contacts", "contracts", "utilisation"):
        code, out = run("import", kind, str(EXAMPLES / f"{kind}.csv"))
        assert code == 0, out


def test_dry_run_reports_without_writing_then_import_and_retention(cli_db: Session) -> None:
    code, out = run("import", "accounts", str(EXAMPLES / "accounts.csv"), "--dry-run")
    assert code == 0 and "would create 6" in out and "nothing written" in out
    assert count(cli_db, Account) == 0
    import_examples()
    assert count(cli_db, Subscription) == 8

    code, out = run(
        "retention", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "segment", "--format", "json"
    )
    assert code == 0, out
    rows = {row["group"]: row for row in json.loads(out)}
    assert set(rows) == {
        "Enterprise",
        "Large",
        "Upper mid-market",
        "Lower mid-market",
        "Small business",
        "all",
    }
    total = rows["all"]
    # Hand-computed from examples/import (cents): Northwind + child, Contoso, Wide World at the start;
    # Wide World churns; Fabrikam and Tailspin are new; Northwind's 3 % escalator is its own line.
    assert (total["start_arr"], total["new"], total["expansion"], total["escalator"]) == (
        170_505_900, 4_254_000, 2_280_000, 2_758_752,
    )  # fmt: skip
    assert (total["churn"], total["contraction"], total["end_arr"]) == (44_587_500, 0, 135_211_152)
    assert total["grr"] == pytest.approx((170_505_900 - 44_587_500) / 170_505_900)
    assert total["logo_churn"] == pytest.approx(1 / 3)
    assert rows["Large"]["churn"] == 44_587_500 and rows["Small business"]["new"] == 480_000

    code, out = run("retention", "--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("group,period_start,period_end,customers_start")
    code, out = run("retention", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "csm")
    assert code == 0 and "sam.okafor@example.com" in out and "73.8%" in out
    code, out = run("retention", "--from", "2025-01-01", "--to", "2025-12-31", "--view", "renewals")
    assert code == 0 and "renewal_base" in out


def test_rejected_rows_are_listed_by_file_line_and_column_and_nothing_is_written(
    cli_db: Session, tmp_path: Path
) -> None:
    import_examples()
    before = count(cli_db, Subscription)
    bad = tmp_path / "contracts.csv"
    bad.write_text(
        (EXAMPLES / "contracts.csv").read_text()
        + "K1,0015e00001CTL01,2026-12-01,2026-11-30,Flat Annual,,,100,\n"
        + "K2,0015e00001XXX01,2026-12-01,2027-11-30,Flat Annual,,,100,\n"
    )
    code, out = run("import", "contracts", str(bad))
    assert code == 1
    assert f"{bad}:10: [Contract End Date]" in out and f"{bad}:11: [Account ID] unknown account" in out
    assert "nothing imported" in out
    assert count(cli_db, Subscription) == before
    code, out = run("import", "contracts", str(bad), "--skip-invalid")
    assert code == 0 and "rejected 2" in out
    assert count(cli_db, Subscription) == before


def test_bad_options_and_files_get_clean_errors(cli_db: Session, tmp_path: Path) -> None:
    code, out = run("retention", "--from", "2025-13-01", "--to", "2025-12-31")
    assert code == 2 and "--from" in out and "Traceback" not in out
    code, out = run("retention", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "colour")
    assert code == 2 and "--by must be one of" in out
    code, out = run("import", "accounts", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out


def test_retention_of_a_period_that_ends_in_the_future_is_refused(cli_db: Session) -> None:
    """Issue 14: contracts that simply have not been renewed yet were counted as churn (the demo's
    coming year read GRR 37.3% and logo churn 80%)."""
    import_examples()
    tomorrow = date.today() + timedelta(days=1)
    for view in ("bridge", "renewals", "cohorts"):
        code, out = run("retention", "--from", "2025-01-01", "--to", tomorrow.isoformat(), "--view", view)
        assert code == 2, out
        assert f"ends on {tomorrow}, after today" in " ".join(out.split()) and "(to)" in out
    code, out = run("retention", "--from", "2025-01-01", "--to", date.today().isoformat())
    assert code == 0, out
