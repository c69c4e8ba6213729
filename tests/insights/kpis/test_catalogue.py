"""The definitions users read (README, `opsdesk kpi --help`) are the catalogue the engine computes."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.insights.kpis.catalogue import BY_KEYS, METRICS

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_defines_every_metric_as_the_catalogue_does() -> None:
    text = README.read_text()
    for metric in METRICS.values():
        assert f"| `{metric.name}` | {metric.kind.value} | {metric.definition} |" in text


def test_help_lists_the_metric_names_and_group_keys() -> None:
    result = CliRunner().invoke(app, ["kpi", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    assert all(name in flat for name in METRICS) and all(key in flat for key in BY_KEYS)
