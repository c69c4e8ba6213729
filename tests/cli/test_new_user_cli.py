"""What a new user meets first: migrate saying what it did, progress in a log, tables not cut in a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from opsdesk.cli import app as cli_app
from opsdesk.cli.demo import LineProgress
from opsdesk.core.settings import get_settings


def test_migrate_says_whether_it_created_upgraded_or_found_the_schema_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSDESK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPSDESK_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli_app, ["migrate"])
        second = CliRunner().invoke(cli_app, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0 and "created the database schema" in first.output, first.output
    assert second.exit_code == 0 and "already up to date" in second.output, second.output


def test_demo_progress_is_printed_line_by_line_when_output_is_not_a_terminal() -> None:
    out = io.StringIO()
    with LineProgress(Console(file=out, width=200)) as progress:
        task = progress.add_task("six months of tickets", total=183)
        for _ in range(183):
            progress.advance(task)
        other = progress.add_task("customer success book", total=5)
        progress.update(other, completed=5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "six months of tickets: started"
    assert lines[1] == "six months of tickets: 19/183 (10%)"
    assert lines[10] == "six months of tickets: 183/183 (100%)"
    assert lines[-1] == "customer success book: 5/5 (100%)"
    assert len(lines) == 13


def test_tables_are_not_cut_at_80_columns_when_piped() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = (
        "from rich.table import Table\n"
        "from opsdesk.cli.common import console\n"
        "t = Table('a' * 60, 'b' * 60)\n"
        "t.add_row('x', 'y')\n"
        "console.print(t)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert "a" * 60 in result.stdout and "b" * 60 in result.stdout
