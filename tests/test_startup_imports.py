"""What starting OpsDesk imports: the command line, a web worker and the job registry load no heavy
numeric library; only the commands, requests and jobs that compute with one load it, when they run.

Each case runs in a fresh interpreter, since this test process has long imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import opsdesk
from opsdesk.cli.success import IMPORT_KINDS

HEAVY = ("pandas", "scipy", "statsforecast", "ortools", "duckdb", "numpy", "reportlab")
SOURCES = str(Path(opsdesk.__file__).resolve().parents[1])


def heavy_modules_after(code: str, tmp_path: Path, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``code`` in a new interpreter on this checkout; the ``heavy`` modules it left in sys.modules."""
    report = f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
    env = {
        **os.environ,
        "PYTHONPATH": SOURCES,
        "OPSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'startup.db'}",
        "OPSDESK_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", code + report],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_command_line_loads_no_heavy_library(tmp_path: Path) -> None:
    assert heavy_modules_after("import opsdesk.cli", tmp_path) == []


def test_opsdesk_help_loads_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom opsdesk.cli import main\nsys.argv = ['opsdesk', '--help']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
    )
    assert heavy_modules_after(code, tmp_path) == []


def test_opsdesk_help_loads_neither_the_database_layer_nor_pydantic(tmp_path: Path) -> None:
    """Listing the commands needs none of them to run: option choices (roles, tiers, channels) come from
    light modules."""
    code = (
        "import sys\nfrom opsdesk.cli import main\nsys.argv = ['opsdesk', '--help']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
    )
    assert (
        heavy_modules_after(code, tmp_path, ("sqlalchemy", "pydantic", "fastapi", "opsdesk.core.models"))
        == []
    )


@pytest.mark.parametrize("command", [["serve"], ["staff"], ["retention"], ["import", "accounts"]])
def test_a_command_s_help_loads_no_heavy_library(tmp_path: Path, command: list[str]) -> None:
    code = (
        f"import sys\nfrom opsdesk.cli import main\nsys.argv = ['opsdesk', *{command!r}, '--help']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
    )
    assert heavy_modules_after(code, tmp_path) == []


def test_a_web_worker_builds_its_application_without_a_heavy_library(tmp_path: Path) -> None:
    code = "from opsdesk.web.server import served_app\nserved_app()\n"
    assert heavy_modules_after(code, tmp_path) == []


def test_a_web_worker_keeps_the_cyclic_collector_off_its_long_lived_objects(tmp_path: Path) -> None:
    """What the application holds is frozen out of full collections, and young collections are rare
    enough that in-flight objects seldom get promoted (served_app: p99 358 -> 37 ms in the chat
    benchmark)."""
    code = (
        "import gc\nfrom opsdesk.web.server import GC_THRESHOLDS, served_app\n"
        "assert gc.get_threshold() == (700, 10, 10), gc.get_threshold()\nserved_app()\n"
        "assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[0] >= 10_000, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
    )
    assert heavy_modules_after(code, tmp_path) == []


def test_the_job_registry_loads_every_job_without_a_heavy_library(tmp_path: Path) -> None:
    code = (
        "from opsdesk.background import load_job_modules\n"
        "assert 'success.health.score' in load_job_modules().jobs\n"
    )
    assert heavy_modules_after(code, tmp_path) == []


def test_the_command_line_offers_every_importer() -> None:
    """The import commands are named without loading the importers; the names must stay their keys."""
    from opsdesk.success.imports import IMPORTERS

    assert tuple(IMPORTERS) == IMPORT_KINDS


def test_the_parent_of_several_web_workers_never_imports_the_web_application(tmp_path: Path) -> None:
    """`opsdesk serve --workers N` spawns its workers first and starts the background jobs while they
    import: the parent building the application as well only delayed the workers' start."""
    code = "import opsdesk.web.server\nimport opsdesk.web.workers\n"
    assert heavy_modules_after(code, tmp_path, heavy=("fastapi", "opsdesk.web.app", "jinja2")) == []


def test_every_mapper_is_configured_before_the_background_jobs_start(tmp_path: Path) -> None:
    """SQLAlchemy configures all mappers at once on first use; a job thread doing so while the main
    thread was still importing the web application's models made a one-process `opsdesk serve` answer
    every request with 500 ("One or more mappers failed to initialize"), now and then."""
    code = (
        "from opsdesk.core.database import Base\nfrom opsdesk.core.settings import get_settings\n"
        "from opsdesk.web.server import start_services\n"
        "stop = start_services(get_settings(), host='127.0.0.1', smtp_port=None)\n"
        "try:\n    assert all(m.configured for m in Base.registry.mappers)\n"
        "    assert len(Base.registry.mappers) > 50\nfinally:\n    stop()\n"
    )
    assert heavy_modules_after(code, tmp_path) == []
