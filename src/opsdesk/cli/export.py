"""`opsdesk export parquet DIR`: the KPI tables as Parquet, for `opsdesk kpi --parquet DIR`, DuckDB or
any other engine (see README, "KPIs at scale")."""

from __future__ import annotations

from pathlib import Path

import typer

from opsdesk.cli.common import clock, console, fail

export_app = typer.Typer(help="Export desk data for analysis.", no_args_is_help=True)


@export_app.command("parquet")
def parquet(
    directory: Path = typer.Argument(
        ..., help="Folder to write tickets/events/tags/calls/agents/ticket_facts.parquet"
    ),
) -> None:
    """Every ticket's KPI facts (numbers and labels, no message content) as Parquet files, and one row of
    derived facts per ticket (ticket_facts.parquet) that large KPI requests read instead of the events."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.settings import get_settings
    from opsdesk.insights.exports.parquet import export_parquet

    if directory.exists() and not directory.is_dir():
        raise fail(f"{directory}: not a folder (DIR)")
    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    try:
        with factory() as session:
            written = export_parquet(session, directory, now=clock.now())
    except OSError as exc:
        raise fail(f"{directory}: cannot write ({exc.strerror or exc}) (DIR)") from None
    console.print(", ".join(f"{table} {count}" for table, count in written.items()) + f" rows in {directory}")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
