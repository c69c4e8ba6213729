"""`opsdesk playbooks run` and `opsdesk feedback ranking` through the real command line parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.settings import get_settings
from opsdesk.success.playbooks import actions
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.models import Task, TriggerKind
from opsdesk.success.voice import actions as voice
from tests.success.playbooks.test_engine import book

runner = CliRunner()


@pytest.fixture
def cli_db(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.playbooks.clock", clock)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_playbooks_run_is_repeatable(cli_db: Session, clock: FixedClock) -> None:
    book(cli_db, clock)
    actions.create_playbook(
        cli_db,
        name="Renewal 90",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 90},
        templates=[TemplateSpec(title="Call"), TemplateSpec(title="Deck")],
        clock=clock,
    )
    cli_db.commit()
    code, out = run("playbooks", "run", "--now", "2026-01-15T00:00:00Z")
    assert code == 0, out
    assert "0 episode(s) fired" in out  # 105 days before the renewal
    code, out = run("playbooks", "run")
    assert code == 0 and "1 episode(s) fired, 2 task(s) created" in out and "Renewal 90: 1" in out
    code, out = run("playbooks", "run")
    assert code == 0 and "0 episode(s) fired" in out
    assert cli_db.scalar(select(func.count()).select_from(Task)) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "is not an ISO date-time"),
        ("2026-03-01T00:00:00", "needs a time zone"),
        ("2027-01-01T00:00:00Z", "future"),
    ],
)
def test_playbooks_run_rejects_bad_now(cli_db: Session, value: str, message: str) -> None:
    code, out = run("playbooks", "run", "--now", value)
    assert code == 2 and "--now" in out and message in out


def test_feedback_ranking_table(cli_db: Session, clock: FixedClock) -> None:
    account = book(cli_db, clock)
    request = voice.create_request(cli_db, title="Spanish content", product_area_name="Content", clock=clock)
    voice.add_ask(cli_db, request=request, account=account, clock=clock)
    cli_db.commit()
    code, out = run("feedback", "ranking")
    assert code == 0, out
    assert "Spanish content" in out and "36,000.00" in out and "1,000" in out
    code, out = run("feedback", "ranking", "--on", "31/12/2026")
    assert code == 2 and "--on" in out
