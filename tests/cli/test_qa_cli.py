"""`opsdesk qa ...` through the real command-line parser on the test database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry
from opsdesk.core.settings import get_settings
from opsdesk.quality import actions
from opsdesk.quality.models import RubricVersion
from tests.quality.world import RUBRIC, Team, build_team, ratings, worked_ticket

runner = CliRunner()


@pytest.fixture
def team(engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield build_team(db, clock)
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_publish_export_and_iqs(team: Team, db: Session, clock: FixedClock, tmp_path: Path) -> None:
    changed = {**RUBRIC, "sections": RUBRIC["sections"][:1]}  # type: ignore[index]
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(changed))
    code, out = run("qa", "publish-rubric", str(path), "--as", team.reviewer.email or "")
    assert code == 2 and "may not qa manage" in out
    code, out = run("qa", "publish-rubric", str(path), "--as", team.lead.email or "")
    assert code == 0 and "version 2" in out, out
    db.rollback()
    assert db.scalar(select(func.count()).select_from(RubricVersion)) == 2

    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    secret = worked_ticket(db, clock, team, agents=[team.agent], sensitive=True)
    for t in (ticket, secret):
        actions.submit_review(
            db, reviewer=team.clinical_reviewer, ticket=t, agent=team.agent, version=team.version,
            ratings=ratings(empathy=4, tone=3, solution=5, privacy=1), comment="=HYPERLINK(1)", clock=clock,
        )  # fmt: skip
    db.commit()

    code, out = run("qa", "export", "--as", team.reviewer.email or "")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["ticket_id"] for r in rows] == [str(ticket.id)]  # the sensitive one is not theirs to read
    assert rows[0]["comment"] == "'=HYPERLINK(1)"
    code, out = run(
        "qa", "export", "--as", team.clinical_reviewer.email or "", "-o", str(tmp_path / "out.csv")
    )
    assert code == 0 and "2 reviews written" in out
    db.rollback()
    listed = db.scalars(select(AuditEntry).where(AuditEntry.action == "ticket_listed")).all()
    assert [(a.subject_id, a.detail["via"]) for a in listed] == [(secret.id, "qa_export_cli")]

    code, out = run("qa", "iqs", "--as", team.agent.email or "")
    assert code == 0 and "IQS 100.0% over 2 reviews" in out
    code, out = run("qa", "iqs", "--as", team.other_agent.email or "", "--agent", team.agent.email or "")
    assert code == 2 and "their own IQS" in out
    code, out = run("qa", "iqs", "--as", team.lead.email or "", "--from", "2400-01-01")
    assert code == 2 and "1900-2200" in out
    code, out = run("qa", "queue", "--as", team.agent.email or "")
    assert code == 2
    code, out = run("qa", "queue", "--as", team.reviewer.email or "")
    assert code == 0 and "Review queue" in out
