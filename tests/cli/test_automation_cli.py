"""`opsdesk automation export|import|dry-run` through the real command-line parser: a team's rules and
macros round-trip through YAML, and a bad file changes nothing and names the entry or the line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import get_settings
from opsdesk.desk.automation import macros, rules
from opsdesk.desk.automation.models import Macro, Rule, RuleKind
from tests.desk.automation.helpers import new_ticket, people
from tests.factories import make_user

runner = CliRunner()


@pytest.fixture
def cli_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_export_edit_import_round_trip(
    cli_db: None, db: Session, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("opsdesk.cli.automation.clock", clock)
    requester, agent = people(db, clock)
    admin = make_user(db, clock, Role.ADMIN, email="admin@desk.test")
    rules.create_rule(
        db, name="Urgent outages", kind=RuleKind.TRIGGER, position=5,
        conditions={"all": [{"field": "subject", "op": "contains", "value": "outage"}]},
        actions=[{"action": "set_field", "field": "priority", "value": "urgent"}], actor=admin, clock=clock,
    )  # fmt: skip
    macros.create_macro(
        db,
        owner=admin,
        name="Thanks",
        reply_template="Thanks {{ requester.first_name }}!",
        shared=True,
        clock=clock,
    )
    new_ticket(db, clock, requester, subject="Total outage")
    db.commit()
    out = tmp_path / "automation.yaml"
    code, output = run("automation", "export", "--out", str(out))
    assert code == 0, output
    document = yaml.safe_load(out.read_text())
    assert (
        document["rules"][0]["name"] == "Urgent outages"
        and document["macros"][0]["owner"] == "admin@desk.test"
    )

    document["rules"][0]["actions"][0]["value"] = "high"
    document["rules"].append(
        {
            "name": "Tag chats",
            "kind": "trigger",
            "conditions": {"all": [{"field": "channel", "op": "is", "value": "chat"}]},
            "actions": [{"action": "add_tags", "tags": ["chat"]}],
        }
    )
    out.write_text(yaml.safe_dump(document))
    code, output = run("automation", "import", str(out), "--as", "admin@desk.test")
    assert code == 0, output
    assert "rules: 1 created, 1 updated; macros: 0 created, 1 updated" in output
    db.expire_all()
    assert db.scalar(select(Rule).where(Rule.name == "Urgent outages")).actions[0]["value"] == "high"  # type: ignore[union-attr]

    # A bad entry: nothing changes, and the error names it.
    document["rules"][1]["actions"] = [{"action": "assign", "assignee": "nobody@desk.test"}]
    document["rules"][0]["position"] = 99
    out.write_text(yaml.safe_dump(document))
    code, output = run("automation", "import", str(out), "--as", "admin@desk.test")
    assert code == 2 and "rules[1] 'Tag chats'" in output and "not an active agent" in output
    db.expire_all()
    assert db.scalar(select(Rule.position).where(Rule.name == "Urgent outages")) == 5
    out.write_text("version: 1\nrules:\n  - name: a\n    kind: : trigger\n")
    code, output = run("automation", "import", str(out), "--as", "admin@desk.test")
    assert code == 2 and "line 4" in output
    assert db.scalar(select(func.count()).select_from(Macro)) == 1
    assert run("automation", "import", str(out), "--as", agent.email or "")[0] == 2

    one = tmp_path / "rule.yaml"
    one.write_text(yaml.safe_dump(document["rules"][0]))
    code, output = run("automation", "dry-run", str(one), "--days", "7")
    assert code == 0, output
    assert "1 of 1 tickets would have changed" in output and "priority normal -> high" in output
