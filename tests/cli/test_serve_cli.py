"""`opsdesk serve`: how many web processes it starts by default, and what it refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.settings import Settings, get_settings
from opsdesk.web.server import default_workers


def test_one_process_on_sqlite_two_per_cpu_and_one_on_postgresql(tmp_path: Path) -> None:
    assert default_workers(Settings(data_dir=tmp_path)) == 1
    postgres = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:5432/test", data_dir=tmp_path)
    assert default_workers(postgres) == 2 * (os.cpu_count() or 1)


def test_more_than_one_worker_on_sqlite_is_refused_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'one.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "--workers" in result.output
    assert "PostgreSQL" in result.output
