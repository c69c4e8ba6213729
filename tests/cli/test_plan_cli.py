"""`opsdesk plan build` and `opsdesk plan default-config` against a real database."""

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
from opsdesk.workforce.models import PlanRun, PlanStatus
from tests.workforce.test_planning import add_desk_history

runner = CliRunner()


@pytest.fixture
def cli_db(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.plan.clock", clock)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_build_from_an_edited_default_config(cli_db: Session, clock: FixedClock, tmp_path: Path) -> None:
    add_desk_history(cli_db, clock.now())
    printed = runner.invoke(app, ["plan", "default-config"])
    assert printed.exit_code == 0
    config = yaml.safe_load(printed.output)
    config["horizon_days"] = 9
    config["schedule_time_limit_seconds"] = 5
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(config))

    result = runner.invoke(app, ["plan", "build", "--config", str(path)])
    assert result.exit_code == 0, result.output
    run = cli_db.scalars(select(PlanRun)).one()
    assert run.status is PlanStatus.COMPLETE and run.config == config
    assert len(run.requirement["timestamps"]) == 9 * 24
    assert f"plan #{run.id} (complete)" in result.output
    assert f"under {run.schedule['totals']['under']:,}" in result.output
    assert f"phone: back-test WAPE {run.forecast['phone']['backtest_wape_pct']}%" in result.output


def test_bad_config_and_missing_history_are_named(cli_db: Session, tmp_path: Path) -> None:
    config = yaml.safe_load(runner.invoke(app, ["plan", "default-config"]).output)
    config["sites"]["sites"][2]["teams"][0]["headcount"] = 99
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["plan", "build", "--config", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "plan.yaml: sites.sites[2].teams: team headcounts must add up" in result.output

    config["sites"]["sites"][2]["teams"][0]["headcount"] = 10
    path.write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["plan", "build", "--config", str(path)])
    assert result.exit_code == 2 and "no channel has enough desk history" in result.output
    assert cli_db.scalars(select(PlanRun)).first() is None
