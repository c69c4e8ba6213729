"""`opsdesk audit list`: the audit log on the command line, as a table or streamed as CSV. The read is
recorded in the log (as read from the command line, by the operating-system user) before any row is."""

from __future__ import annotations

import getpass
import json

import typer
from rich.table import Table
from rich.text import Text

from opsdesk.cli.common import clock, console, unit_of_work

MAX_ID = 2**31 - 1  # the id columns' range; here so that --help loads no database code
FORMATS = ("table", "csv")
audit_app = typer.Typer(help="Read the audit log: who read or changed what.", no_args_is_help=True)


@audit_app.command("list")
def list_entries(
    person: str = typer.Option(None, "--person", help="Only what this person (email) did."),
    ticket: int = typer.Option(None, "--ticket", min=1, max=MAX_ID, help="Only rows about this ticket."),
    action: str = typer.Option(None, "--action", help="Only this action, e.g. ticket_read_denied."),
    since: str = typer.Option(None, "--since", help="From this time, inclusive: YYYY-MM-DD[THH:MM] (UTC)."),
    until: str = typer.Option(None, "--until", help="Before this time, exclusive: YYYY-MM-DD[THH:MM] (UTC)."),
    fmt: str = typer.Option("table", "--format", help="table, or csv (every row, streamed)."),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="Rows in the table (newest first)."),
) -> None:
    """List audit rows, newest first."""
    from opsdesk.core.audit_export import csv_lines, record_audit_read
    from opsdesk.core.audit_queries import audit_rows, parse_when, resolve_filters
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.settings import get_settings

    if fmt not in FORMATS:
        console.print(f"[red]error:[/red] --format must be one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    with unit_of_work() as session:
        filters = resolve_filters(
            session,
            person=person,
            ticket=ticket,
            action=action,
            since=parse_when(since, "since") if since else None,
            until=parse_when(until, "until") if until else None,
        )
        record_audit_read(
            session,
            reader=None,
            exported=fmt == "csv",
            filters=filters,
            via="cli",
            at=clock.now(),
            extra={"os_user": getpass.getuser(), "format": fmt},
        )
    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    with factory() as session:
        rows = audit_rows(session, filters=filters)
        if fmt == "csv":
            for line in csv_lines(rows):
                typer.echo(line, nl=False)
            return
        table = Table(title="Audit log (newest first, times in UTC)")
        for column in ("time", "who", "action", "about", "detail"):
            table.add_column(column, overflow="fold")
        more = False
        for shown, row in enumerate(rows):
            if shown == limit:
                more = True
                break
            entry = row.entry
            about = entry.subject_type + (f" #{entry.subject_id}" if entry.subject_id is not None else "")
            cells = (
                entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                row.actor_email or row.actor_name or "system",
                entry.action,
                about,
                json.dumps(entry.detail, sort_keys=True, ensure_ascii=False),
            )
            table.add_row(*(Text(cell) for cell in cells))  # stored text is never read as markup
        console.print(table)
        if more:
            console.print(f"[yellow]the newest {limit} rows; --limit or --format csv for more[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
