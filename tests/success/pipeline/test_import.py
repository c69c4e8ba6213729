"""Opportunities imported from CSV with their stage history: the history keeps its real dates, feeds the
accuracy and stage calibration, re-imports change nothing, and bad rows are named by file and line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import get_settings
from opsdesk.success.imports import ImportFailed, import_csv
from opsdesk.success.models import Subscription
from opsdesk.success.pipeline import queries
from opsdesk.success.pipeline.models import Opportunity, OpportunityHistory, OpportunityStage
from tests.factories import make_user

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "import"
runner = CliRunner()


def _seed(db: Session, clock: FixedClock) -> None:
    make_user(db, clock, Role.CSM, email="maria.lopez@example.com", password=None)
    make_user(db, clock, Role.CSM, email="sam.okafor@example.com", password=None)
    db.commit()
    for kind in ("accounts", "contracts"):
        import_csv(db, kind, (EXAMPLES / f"{kind}.csv").read_text(), clock=clock)
    db.commit()


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_imported_history_keeps_its_dates_and_feeds_accuracy(db: Session, clock: FixedClock) -> None:
    _seed(db, clock)
    before = queries.accuracy(db, date(2025, 11, 1), date(2025, 12, 31), clock.now().date())
    assert before.months["actual"].tolist() == [0, 0] and before.summary["wape"] is None
    subscriptions = _count(db, Subscription)

    report = import_csv(db, "opportunities", (EXAMPLES / "opportunities.csv").read_text(), clock=clock)
    db.commit()
    assert (report.rows, report.created, report.updated, report.rejected) == (13, 5, 0, [])
    assert _count(db, Subscription) == subscriptions  # history books no contracts

    db.expire_all()
    northwind = db.scalars(select(Opportunity).where(Opportunity.external_id == "0065e00002OPP01")).one()
    assert northwind.stage is OpportunityStage.CLOSED_WON and northwind.closed_on == date(2025, 12, 20)
    assert northwind.amount_cents == 95_000_000 and northwind.owner is not None
    assert [(h.at, h.stage.value) for h in northwind.history] == [
        (datetime(2025, 9, 1, tzinfo=UTC), "qualify"),
        (datetime(2025, 10, 15, 9, 30, tzinfo=UTC), "negotiate"),
        (datetime(2025, 12, 20, 16, 5, tzinfo=UTC), "closed_won"),
    ]
    fabrikam = db.scalars(select(Opportunity).where(Opportunity.external_id == "0065e00002OPP03")).one()
    assert fabrikam.account.name == "Fabrikam Foods"  # found by name
    contoso = db.scalars(select(Opportunity).where(Opportunity.external_id == "0065e00002OPP02")).one()
    assert contoso.amount_cents == 4_500_000  # the last row's amount

    after = queries.accuracy(db, date(2025, 11, 1), date(2025, 12, 31), clock.now().date())
    # what closed won in each month, at its real close date
    assert after.months["actual"].tolist() == [2_400_000, 95_000_000]
    # at 1 November the Fabrikam upsell was in qualify, closing in November: it was forecast
    assert after.months["forecast"].tolist()[0] > 0 and after.summary["wape"] is not None
    table = queries.probability_table(db)
    # calibrated from the imported closed deals: 1 renewal won and 1 lost from negotiate
    assert table.probability("renewal", "negotiate") != pytest.approx(0.6)

    again = import_csv(db, "opportunities", (EXAMPLES / "opportunities.csv").read_text(), clock=clock)
    db.commit()
    assert (again.created, again.updated) == (0, 0)
    assert _count(db, Opportunity) == 5 and _count(db, OpportunityHistory) == 13


def test_a_changed_history_replaces_the_stored_one(db: Session, clock: FixedClock) -> None:
    _seed(db, clock)
    text = (EXAMPLES / "opportunities.csv").read_text()
    import_csv(db, "opportunities", text, clock=clock)
    db.commit()
    lines = text.splitlines()
    changed = "\n".join([lines[0], *[line for line in lines[1:] if "OPP04" in line]])
    changed = changed.replace(
        "Closed Lost,2025-06-30,sam.okafor@example.com,2025-06-20",
        "Closed Won,2025-06-30,sam.okafor@example.com,2025-06-25",
    )
    report = import_csv(db, "opportunities", changed + "\n", clock=clock)
    db.commit()
    assert (report.created, report.updated) == (0, 1)
    db.expire_all()
    wide_world = db.scalars(select(Opportunity).where(Opportunity.external_id == "0065e00002OPP04")).one()
    assert wide_world.stage is OpportunityStage.CLOSED_WON and wide_world.closed_on == date(2025, 6, 25)
    assert [h.stage.value for h in wide_world.history] == ["negotiate", "closed_won"]


def test_bad_rows_are_named_and_nothing_is_written(db: Session, clock: FixedClock) -> None:
    _seed(db, clock)
    bad = "\n".join(
        [
            "Opportunity ID,Account ID,Account Name,Type,Amount,Stage,Close Date,Stage Changed At",
            "X1,0015e00001NWH01,,Renewal,100,Qualification,2026-01-31,2025-09-01",
            "X1,0015e00001CTL01,,Renewal,100,Won,2026-01-31,2025-10-01",
            "X2,,Nobody Inc,Upsell,100,Qualification,2026-01-31,2025-09-01",
            "X3,0015e00001NWH01,,Donation,abc,Maybe,someday,2027-01-01",
            "X4,0015e00001NWH01,,Upsell,100,Qualify,2026-01-31,2025-09-01",
        ]
    )
    with pytest.raises(ImportFailed) as failed:
        import_csv(db, "opportunities", bad, clock=clock)
    db.rollback()
    assert sorted((e.line, e.column) for e in failed.value.report.rejected) == [
        (3, "Account ID"),
        (4, "Account Name"),
        (5, "Amount"),
        (5, "Close Date"),
        (5, "Stage"),
        (5, "Stage Changed At"),
        (5, "Type"),
    ]
    assert _count(db, Opportunity) == 0


@pytest.fixture
def cli_db(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    _seed(db, clock)
    yield db
    get_settings.cache_clear()


def test_the_command_imports_and_names_file_and_line_of_errors(cli_db: Session, tmp_path: Path) -> None:
    path = str(EXAMPLES / "opportunities.csv")
    result = runner.invoke(app, ["import", "opportunities", path])
    assert result.exit_code == 0, result.output
    assert "13 row(s); created 5, updated 0, rejected 0" in result.output
    result = runner.invoke(app, ["import", "opportunities", path])
    assert result.exit_code == 0 and "created 0, updated 0" in result.output
    bad = tmp_path / "opps.csv"
    bad.write_text(
        "Opportunity ID,Account ID,Type,Amount,Stage,Close Date,Stage Changed At\n"
        "Y1,0015e00001NWH01,Upsell,100,Qualify,2026-01-31,2025-09-01\n"
        "Y2,0015e00001NWH01,Upsell,100,Qualify,not a date,2025-09-01\n"
    )
    result = runner.invoke(app, ["import", "opportunities", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: [Close Date] 'not a date' is not a date" in result.output
    cli_db.rollback()
    assert _count(cli_db, Opportunity) == 5
