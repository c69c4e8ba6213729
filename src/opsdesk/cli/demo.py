"""`opsdesk demo`: load the demo organisation."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from opsdesk.cli.common import clock, console


def demo(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when the database already has users."
    ),
    organisations: int = typer.Option(20_000, help="Customer organisations to create."),
    tickets_per_day: int = typer.Option(800, help="Average tickets per day over the six months."),
) -> None:
    """Load a realistic demo organisation with six months of history."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.settings import get_settings
    from opsdesk.demo.loader import database_is_empty, load_demo
    from opsdesk.demo.people import DEMO_DOMAIN, DEMO_PASSWORD

    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    with factory() as session:
        empty = database_is_empty(session)
    if not empty:
        if if_empty:
            console.print("the database already has data: demo not loaded again")
            return
        console.print(
            "[yellow]the database already has data; adding a second demo organisation is refused[/]"
        )
        raise typer.Exit(2)
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console) as progress:
        counts = load_demo(
            factory,
            clock=clock,
            organisations=organisations,
            tickets_per_day=tickets_per_day,
            progress=progress,
        )
    console.print(", ".join(f"{v:,} {k}" for k, v in counts.items()))
    console.print(
        f"sign in as admin@{DEMO_DOMAIN}, lead@{DEMO_DOMAIN} or agent accounts; password {DEMO_PASSWORD}"
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
