"""`opsdesk token ...` and `opsdesk user deactivate/reactivate` through the real command line parser, on
the test database (SQLite and PostgreSQL), read back after each command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core import queries
from opsdesk.core.clock import FixedClock, SystemClock
from opsdesk.core.models import ApiToken, AuditEntry, Role, Tier, User
from opsdesk.core.settings import get_settings
from tests.factories import make_user

runner = CliRunner()


@pytest.fixture
def cli_db(engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_tokens_are_created_with_an_expiry_listed_and_revoked(cli_db: Session, clock: FixedClock) -> None:
    make_user(cli_db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    make_user(cli_db, clock, Role.ANALYST, email="al@desk.test")
    cli_db.commit()
    clear = _run("token", "create", "ana@desk.test", "--expires-in", "30d", "--name", "crm").strip()
    _run("token", "create", "al@desk.test", "--expires-in", "never")
    cli_db.expire_all()
    token = cli_db.scalars(select(ApiToken).where(ApiToken.name == "crm")).one()
    assert token.expires_at is not None and token.expires_at - token.created_at == timedelta(days=30)
    assert queries.user_for_token(cli_db, clear, SystemClock()) is not None
    listing = _run("token", "list", "ana@desk.test")
    assert "crm" in listing and "active" in listing and "al@desk.test" not in listing
    assert clear not in _run("token", "list")
    assert "al@desk.test" in _run("token", "list") and "never" in _run("token", "list")
    assert f"revoked token {token.id}" in _run("token", "revoke", str(token.id))
    cli_db.expire_all()
    assert queries.user_for_token(cli_db, clear, SystemClock()) is None
    assert "revoked" in _run("token", "list", "ana@desk.test")
    bad = runner.invoke(app, ["token", "create", "ana@desk.test", "--expires-in", "soon"])
    assert bad.exit_code == 2 and "90d" in bad.output
    missing = runner.invoke(app, ["token", "revoke", "2147483647"])
    assert missing.exit_code == 2 and "no API token 2147483647" in missing.output
    assert runner.invoke(app, ["token", "revoke", "2147483648"]).exit_code == 2


def test_a_deactivated_user_loses_tokens_and_may_be_reactivated(cli_db: Session, clock: FixedClock) -> None:
    make_user(cli_db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    cli_db.commit()
    clear = _run("token", "create", "ana@desk.test").strip()
    assert "deactivated ana@desk.test" in _run("user", "deactivate", "ana@desk.test")
    cli_db.expire_all()
    user = cli_db.scalars(select(User).where(User.email == "ana@desk.test")).one()
    assert user.active is False
    assert queries.user_for_token(cli_db, clear, SystemClock()) is None
    assert "revoked" in _run("token", "list", "ana@desk.test")
    refused = runner.invoke(app, ["token", "create", "ana@desk.test"])
    assert refused.exit_code == 2 and "deactivated" in refused.output
    _run("user", "reactivate", "ana@desk.test")
    cli_db.expire_all()
    assert cli_db.get_one(User, user.id).active is True
    actions = cli_db.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == user.id)).all()
    assert {"api_token_created", "user_deactivated", "user_reactivated"} <= set(actions)
