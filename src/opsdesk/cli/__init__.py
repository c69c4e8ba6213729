"""The `opsdesk` command line. Each domain adds its commands from its own module here."""

from __future__ import annotations

import typer

from opsdesk.cli import (
    admin,
    audit,
    automation,
    demo,
    export,
    forecast,
    health,
    history_import,
    kpi,
    mail,
    mine,
    pipeline,
    plan,
    playbooks,
    quality,
    report,
    routing,
    scheduling,
    staffing,
    success,
    views,
    webhooks,
    worker,
)

app = typer.Typer(
    help="OpsDesk: customer operations in one system.", no_args_is_help=True, add_completion=False
)
admin.register(app)

for module in (
    audit,
    demo,
    kpi,
    mail,
    worker,
    forecast,
    staffing,
    scheduling,
    plan,
    success,
    health,
    playbooks,
    pipeline,
    mine,
    quality,
    history_import,  # after success: it adds to the `import` group success creates
    routing,
    webhooks,
    views,
    export,
    automation,
    report,
):
    module.register(app)


def main() -> None:
    app()
