"""`opsdesk renewals generate`, `opsdesk pipeline forecast|accuracy` and `opsdesk portfolio` through the
real command line parser and database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import get_settings
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import Account, PriceModel
from tests.factories import make_user

runner = CliRunner()
NOW = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def cli_db(engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.pipeline.clock", NOW)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_renewals_forecast_and_portfolio_commands(cli_db: Session, tmp_path: Path) -> None:
    csm = make_user(cli_db, NOW, Role.CSM, email="csm@example.com")
    make_user(cli_db, NOW, Role.CSM, email="other@example.com")
    for n in range(3):
        account = success.create_account(
            cli_db, name=f"Employer {n}", covered_lives=50, owner=csm, region="EMEA", clock=NOW
        )
        contracts.save_subscription(
            cli_db,
            account=account,
            start=date(2025, 5, 1),
            end=date(2026, 4, 30),
            price_model=PriceModel.FLAT_ANNUAL,
            flat_annual_cents=1_000_000,
            clock=NOW,
        )
    cli_db.commit()

    code, out = run("renewals", "generate", "--lead-days", "90")
    assert code == 0, out
    assert "3 renewal opportunity(ies) created" in out
    code, out = run("renewals", "generate", "--lead-days", "90")
    assert "0 renewal opportunity(ies) created; 3 already open" in out
    assert run("renewals", "generate", "--lead-days", "9999")[0] != 0

    code, out = run("pipeline", "forecast", "--from", "2026-04-01", "--to", "2026-04-30", "--format", "json")
    assert code == 0, out
    april = json.loads(out)[0]
    assert april["weighted"] == 3 * 800_000 and april["method"] == "exact"
    # three independent .8 renewals of 10,000.00: P(0) = .008, P(1) = .096, P(2) = .384, P(3) = .512;
    # the CDF reaches .104 at one win (P10) and only .488 at two, so P50 and P90 are all three
    assert (april["p10"], april["p50"], april["p90"]) == (1_000_000, 3_000_000, 3_000_000)
    code, out = run("pipeline", "forecast", "--from", "April")
    assert code != 0 and "--from" in out
    code, out = run("pipeline", "accuracy", "--format", "csv")
    assert code == 0 and out.startswith("month,forecast,actual,error,pct_error")

    capacity = tmp_path / "capacity.json"
    capacity.write_text(json.dumps({"Small business": {"accounts": 2, "arr_cents": 100_000_000}}))
    code, out = run("portfolio", "--rebalance", "--capacity", str(capacity), "--format", "json")
    assert code == 0, out
    books_json, moves_json = out.split("\n]\n", 1)
    books = {b["csm"]: b for b in json.loads(books_json + "\n]")}
    assert books["csm@example.com"]["accounts"] == 3 and books["csm@example.com"]["load"] == 1.5
    moves = json.loads(moves_json)
    assert [(m["from"], m["to"]) for m in moves] == [("csm@example.com", "other@example.com")]
    code, out = run("portfolio", "--rebalance", "--capacity", str(capacity))
    assert code == 0 and " arr " in out.replace("┃", " ") and "arr_cents" not in out  # dollars in a table
    # issue 14: rebalancing applies its moves on request, and the books read back afterwards are even
    assert run("portfolio", "--apply")[0] != 0
    code, out = run("portfolio", "--rebalance", "--apply", "--capacity", str(capacity), "--format", "json")
    assert code == 0, out
    books_json, made_json = out.split("\n]\n", 1)
    assert [(m["from"], m["to"]) for m in json.loads(made_json)] == [("csm@example.com", "other@example.com")]
    after = {b["csm"]: b["accounts"] for b in json.loads(books_json + "\n]")}
    assert after == {"csm@example.com": 2, "other@example.com": 1}
    cli_db.expire_all()
    owners = sorted(a.owner.email for a in cli_db.scalars(select(Account)) if a.owner is not None)
    assert owners == ["csm@example.com", "csm@example.com", "other@example.com"]
    moved = cli_db.scalars(select(Event).where(Event.type == "account_updated")).all()
    assert len(moved) == 1 and "owner" in moved[0].data
    code, out = run("portfolio", "--rebalance", "--apply", "--capacity", str(capacity))
    assert code == 0 and "no moves needed" in out
    capacity.write_text('{"Small business": {"accounts": 0}}')
    code, out = run("portfolio", "--capacity", str(capacity))
    assert code != 0 and "capacity.json" in out
    capacity.write_text("{nope")
    code, out = run("portfolio", "--capacity", str(capacity))
    assert code != 0 and "line 1" in out


def test_portfolio_counts_each_csms_touches_from_the_event_log(cli_db: Session) -> None:
    """Issue 14: touches were always 0: only done tasks counted, and a book with no playbook tasks (the
    demo's) had none. Now every piece of the CSM's work the event log records counts, in the period."""
    from opsdesk.core import actions as core_actions
    from opsdesk.desk import actions as desk
    from opsdesk.desk.models import AuthorKind, Channel
    from opsdesk.success.playbooks import actions as tasks
    from opsdesk.success.playbooks.models import TaskStatus
    from opsdesk.success.voice import actions as voice
    from opsdesk.success.voice.models import Severity

    csm = make_user(cli_db, NOW, Role.CSM, email="csm@example.com")
    lead = make_user(cli_db, NOW, Role.CS_LEAD, email="lead@example.com")
    org = core_actions.create_organisation(cli_db, name="Acme Health", clock=NOW)
    requester = make_user(cli_db, NOW, Role.REQUESTER, email="rita@acme.test", organisation=org)
    acme = success.create_account(
        cli_db, name="Acme", covered_lives=50, owner=csm, organisation=org, clock=NOW
    )
    beta = success.create_account(cli_db, name="Beta", covered_lives=50, owner=csm, clock=NOW)
    years_ago = FixedClock(datetime(2024, 6, 3, 9, 0, tzinfo=UTC))
    for clock, actor in ((NOW, csm), (NOW, lead), (years_ago, csm)):  # only the first is a touch
        task = tasks.create_task(cli_db, account=beta, title="Call", due_on=date(2026, 3, 9), clock=clock)
        tasks.update_task(cli_db, task=task, status=TaskStatus.DONE, clock=clock, actor=actor)
    voice.open_escalation(
        cli_db, account=acme, severity=Severity.SEV2, title="Late file", clock=NOW, actor=csm
    )
    ticket = desk.create_ticket(
        cli_db, requester=requester, subject="File", body_text="Rejected", channel=Channel.EMAIL, clock=NOW
    )
    desk.add_message(
        cli_db, ticket=ticket, author=csm, author_kind=AuthorKind.AGENT, public=False, channel=Channel.WEB,
        clock=NOW, body_text="Customer is on a renewal: please prioritise",
    )  # fmt: skip
    cli_db.commit()

    code, out = run("portfolio", "--rebalance", "--format", "json")
    assert code == 0, out
    books = {b["csm"]: b for b in json.loads(out.split("\n]\n", 1)[0] + "\n]")}
    # a done task, an escalation opened and a note on the customer's ticket, over two accounts
    assert books["csm@example.com"]["touches_per_account"] == 1.5
