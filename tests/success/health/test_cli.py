"""`opsdesk health score` and `opsdesk health backtest` through the real command line parser, on a
history where utilisation alone tells churners from stayers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.settings import get_settings
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.health.models import AccountSignal, HealthScore, SignalKind
from opsdesk.success.models import PriceModel

runner = CliRunner()
NOW = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def cli_db(engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.health.clock", NOW)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def history(db: Session) -> None:
    """Twelve customers, all with a term ending 31 Oct 2025; the six with 2 % engagement leave, the six
    with 20 % renew for a year."""
    for n in range(12):
        leaves = n % 2 == 0
        account = success.create_account(db, name=f"Employer {n}", covered_lives=1000, clock=NOW)
        contracts.save_subscription(
            db, account=account, start=date(2025, 1, 1), end=date(2025, 10, 31),
            price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=50_000_00, clock=NOW,
        )  # fmt: skip
        if not leaves:
            contracts.save_subscription(
                db, account=account, start=date(2025, 11, 1), end=date(2026, 10, 31),
                price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=50_000_00, clock=NOW,
            )  # fmt: skip
        for month in range(1, 10):
            engaged = 20 if leaves else 200
            success.record_utilisation(
                db, account=account, month=date(2025, month, 1), engaged_members=engaged + n,
                sessions=engaged * 2, programme_uptake_pct=Decimal(10),
            )  # fmt: skip
    db.commit()


def test_score_then_backtest_finds_utilisation_predicts_churn(cli_db: Session) -> None:
    history(cli_db)
    for day in ("2025-06-01", "2025-07-01", "2025-08-01", "2025-09-01"):
        code, out = run("health", "score", "--as-of", day)
        assert code == 0, out
        assert "12 account(s) scored" in out
    code, out = run("health", "score", "--as-of", "2025-09-01")  # a rerun replaces, never duplicates
    assert code == 0 and "12 account(s) scored" in out
    cli_db.rollback()
    assert cli_db.scalar(select(func.count()).select_from(HealthScore)) == 48

    code, out = run("health", "backtest", "--horizon", "180d", "--suggest-weights")
    assert code == 0, out
    assert "48 snapshot(s) with 180 days of hindsight, 24 followed by churn" in out
    assert "AUC: 1.000" in out
    assert "lift at top decile: 2.00" in out
    row = re.search(r"utilisation\s+│\s+1\.000\s+│\s+100%\s+│\s+25\s+│\s+(\d+)", out)
    assert row is not None, out
    assert int(row.group(1)) >= 90
    assert re.search(r"renewal_proximity\s+│\s+0\.500", out), out  # the same for everyone on a date


def test_bad_options_are_clean_errors(cli_db: Session) -> None:
    code, out = run("health", "backtest", "--horizon", "soon")
    assert code == 2 and "--horizon: 'soon' is not a horizon" in out
    code, out = run("health", "score", "--as-of", "2026-13-01")
    assert code == 2 and "--as-of: '2026-13-01' is not a date" in out
    code, out = run("health", "score", "--as-of", "2027-01-01")
    assert code == 2 and "cannot score a date in the future" in out
    code, out = run("health", "backtest", "--horizon", "26w")
    assert code == 0 and "0 snapshot(s) with 182 days" in out and "AUC: -" in out


SIGNALS = """Account ID,Signal,Observed,Value,Source
ACME,nps,2026-02-01,35,Delighted
ACME,Exec Engagement,2026-01-15,,CRM
ACME,payment_days_overdue,2026-02-20T10:00:00Z,12,billing
"""


def test_signals_import_reports_bad_rows_by_line_and_writes_all_or_nothing(
    cli_db: Session, tmp_path: Path
) -> None:
    account = success.create_account(cli_db, name="Acme", external_id="ACME", covered_lives=500, clock=NOW)
    cli_db.commit()
    good = tmp_path / "signals.csv"
    good.write_text(SIGNALS)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        SIGNALS
        + "NOPE,nps,2026-02-01,10,\n"
        + "ACME,mood,2026-02-01,10,\n"
        + "ACME,nps,2026-02-02,150,\n"
        + "ACME,nps,2026-02-01,36,\n"
        + "ACME,csat,2027-01-01,90,\n"
    )
    code, out = run("health", "signals", str(bad))
    assert code == 1
    assert f"{bad}:5: [Account ID] unknown account NOPE" in out
    assert f"{bad}:6: [Signal] unknown signal 'mood'" in out
    assert f"{bad}:7: [Value] a nps value is between -100 and 100" in out
    assert f"{bad}:8: [Observed]" in out and "appears twice (line 2)" in out
    assert f"{bad}:9: [Observed] is in the future" in out
    cli_db.rollback()
    assert cli_db.scalar(select(func.count()).select_from(AccountSignal)) == 0

    code, out = run("health", "signals", str(good), "--dry-run")
    assert code == 0 and "would create 3" in out
    code, out = run("health", "signals", str(good))
    assert code == 0 and "created 3, updated 0" in out
    code, out = run("health", "signals", str(good))
    assert code == 0 and "created 0, updated 3" in out
    cli_db.rollback()
    rows = {
        s.kind: s for s in cli_db.scalars(select(AccountSignal).where(AccountSignal.account_id == account.id))
    }
    assert rows[SignalKind.NPS].value == 35
    assert rows[SignalKind.EXEC_ENGAGEMENT].value == 1
    assert rows[SignalKind.PAYMENT_DAYS_OVERDUE].observed_at == datetime(2026, 2, 20, 10, tzinfo=UTC)
    code, out = run("health", "signals", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out
