"""The `opsdesk` command line. Each domain adds its commands from its own module here."""

from __future__ import annotations

import importlib
import importlib.util

import typer

from opsdesk.cli import admin

app = typer.Typer(
    help="OpsDesk: customer operations in one system.", no_args_is_help=True, add_completion=False
)
admin.register(app)

# Domain command modules, each exposing register(app).
COMMAND_MODULES = [
    "opsdesk.cli.desk",
    "opsdesk.cli.mail",
    "opsdesk.cli.demo",
    "opsdesk.cli.forecast",
    "opsdesk.cli.staffing",
    "opsdesk.cli.scheduling",
    "opsdesk.cli.plan",
    "opsdesk.cli.success",
    "opsdesk.cli.health",
    "opsdesk.cli.playbooks",
    "opsdesk.cli.pipeline",
    "opsdesk.cli.insights",
    "opsdesk.cli.worker",
]
for _name in COMMAND_MODULES:
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name).register(app)


def main() -> None:
    app()
