"""`opsdesk plan scenario ...` against a real database: create from a file, copy with --set, compare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.settings import get_settings
from opsdesk.workforce.models import PlanScenario
from tests.workforce.chain.book import add_book, add_history, language_assumptions, small_assumptions

runner = CliRunner()


@pytest.fixture
def cli_db(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.plan_scenario.clock", clock)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_create_copy_with_changes_and_compare(cli_db: Session, clock: FixedClock, tmp_path: Path) -> None:
    add_book(cli_db, clock.now())
    add_history(cli_db, clock.now())
    path = tmp_path / "assumptions.yaml"
    path.write_text(yaml.safe_dump(small_assumptions(clock.now(), chicago=16, manila=11)))

    created = runner.invoke(app, ["plan", "scenario", "create", "--name", "Base", "--assumptions", str(path)])
    assert created.exit_code == 0, created.output
    base = cli_db.scalars(select(PlanScenario)).one()
    assert f"scenario #{base.id} 'Base'" in created.output
    assert f"{base.summary['total_hires']} hires" in created.output

    copied = runner.invoke(
        app,
        [
            "plan",
            "scenario",
            "copy",
            str(base.id),
            "--name",
            "Slow phone",
            "--set",
            "channels.phone.aht_seconds=720",
            "--set",
            "channels.chat.aht_seconds=900",
        ],
    )
    assert copied.exit_code == 0, copied.output
    cli_db.expire_all()
    slow = cli_db.scalars(select(PlanScenario).where(PlanScenario.name == "Slow phone")).one()
    assert slow.copied_from_id == base.id and slow.assumptions["channels"]["phone"]["aht_seconds"] == 720
    assert slow.summary["total_hires"] > base.summary["total_hires"]

    compared = runner.invoke(app, ["plan", "scenario", "compare", str(base.id), str(slow.id)])
    assert compared.exit_code == 0, compared.output
    assert f"#{base.id} Base | #{slow.id} Slow phone" in compared.output
    first = base.summary["months"][1]
    assert f"  {first}  {base.summary['hires'][1]:,} | {slow.summary['hires'][1]:,}" in compared.output

    bad = runner.invoke(
        app, ["plan", "scenario", "change", str(base.id), "--set", "hiring.attrition_monthly=3"]
    )
    assert bad.exit_code == 2 and "hiring.attrition_monthly" in bad.output and "Traceback" not in bad.output
    malformed = runner.invoke(app, ["plan", "scenario", "change", str(base.id), "--set", "growth"])
    assert malformed.exit_code == 2 and "expected dotted.key=value" in malformed.output
    printed = runner.invoke(app, ["plan", "scenario", "default-assumptions"])
    assert printed.exit_code == 0 and yaml.safe_load(printed.output)["salaries"]["Manila"]["L1"] > 0


def test_language_queues_are_reported_and_the_threshold_checked(
    cli_db: Session, clock: FixedClock, tmp_path: Path
) -> None:
    add_book(cli_db, clock.now())
    add_history(cli_db, clock.now())
    path = tmp_path / "assumptions.yaml"
    path.write_text(yaml.safe_dump(language_assumptions(clock.now())))
    created = runner.invoke(
        app, ["plan", "scenario", "create", "--name", "Languages", "--assumptions", str(path)]
    )
    assert created.exit_code == 0, created.output
    assert "language queues (own from 30% occupancy), first month: own " in created.output
    assert "email/L1/es" in created.output
    scenario = cli_db.scalars(select(PlanScenario)).one()
    pooled = runner.invoke(
        app, ["plan", "scenario", "change", str(scenario.id), "--set", "queues.min_own_queue_occupancy=1"]
    )
    assert pooled.exit_code == 0, pooled.output
    assert "first month: own none;" in pooled.output
    bad = runner.invoke(
        app, ["plan", "scenario", "change", str(scenario.id), "--set", "queues.min_own_queue_occupancy=1.5"]
    )
    assert (
        bad.exit_code == 2
        and "queues.min_own_queue_occupancy" in bad.output
        and "Traceback" not in bad.output
    )
