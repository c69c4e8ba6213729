"""`opsdesk routing export/import` through the real command line parser on the test database: a file
exported, edited and imported changes exactly what it names, and a bad file changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Group, Role, Tier, User
from opsdesk.core.settings import get_settings
from opsdesk.desk.routing.models import AgentPresence, RoutingGroup, RoutingSettings, Skill
from opsdesk.desk.routing.router import Choice

runner = CliRunner()


@pytest.fixture
def cli_db(engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_export_edit_import_round_trip(cli_db: Session, clock: FixedClock, tmp_path: Path) -> None:
    core_actions.create_user(
        cli_db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L2, clock=clock
    )
    cli_db.commit()
    empty = runner.invoke(app, ["routing", "export"])
    assert empty.exit_code == 0, empty.output
    doc = yaml.safe_load(empty.output)
    doc["settings"].update(choice="round_robin", skill_timeout_seconds=900)
    doc["languages"] = [{"code": "en", "name": "English"}, {"code": "es", "name": "Spanish"}]
    doc["skills"] = [{"name": "billing", "match_tags": ["invoice", "refund"]}]
    doc["groups"] = [
        {"name": "Engineers", "tier": "L2", "choice": "spare_capacity", "members": ["ana@desk.test"]}
    ]
    doc["agents"] = [
        {"email": "ana@desk.test", "languages": ["en", "es"], "skills": ["billing"], "capacity": {"chat": 2}}
    ]
    source = tmp_path / "routing.yaml"
    source.write_text(yaml.safe_dump(doc))

    result = runner.invoke(app, ["routing", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "1 skills, 1 groups, 1 agents" in result.output
    cli_db.expire_all()
    settings = cli_db.get_one(RoutingSettings, 1)
    assert settings.choice is Choice.ROUND_ROBIN and settings.skill_timeout_seconds == 900
    assert cli_db.scalars(select(Skill)).one().match_tags == ["invoice", "refund"]
    group = cli_db.scalars(select(Group).where(Group.name == "Engineers")).one()
    assert [m.email for m in group.members] == ["ana@desk.test"]
    assert cli_db.get_one(RoutingGroup, group.id).choice is Choice.SPARE_CAPACITY
    ana = cli_db.scalars(select(User).where(User.email == "ana@desk.test")).one()
    assert ana.languages == ["en", "es"] and ana.skills == ["billing"]
    assert cli_db.get_one(AgentPresence, ana.id).capacity == {"chat": 2}

    again = runner.invoke(app, ["routing", "export", "--file", str(tmp_path / "again.yaml")])
    assert again.exit_code == 0, again.output
    assert yaml.safe_load((tmp_path / "again.yaml").read_text())["agents"][0]["skills"] == ["billing"]


def test_a_bad_file_names_the_entry_and_changes_nothing(cli_db: Session, tmp_path: Path) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text(
        "skills:\n  - name: billing\nagents:\n  - email: nobody@desk.test\n    capacity: {chat: 500}\n"
    )
    result = runner.invoke(app, ["routing", "import", str(source)])
    assert result.exit_code == 2
    assert "agents[0].capacity.chat" in result.output
    source.write_text("skills:\n  - name: billing\nagents:\n  - email: nobody@desk.test\n")
    result = runner.invoke(app, ["routing", "import", str(source)])
    assert result.exit_code == 2 and "nobody@desk.test is not an agent" in result.output
    cli_db.expire_all()
    assert cli_db.scalars(select(Skill)).all() == []  # all or nothing
