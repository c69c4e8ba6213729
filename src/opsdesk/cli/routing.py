"""`opsdesk routing`: keep groups, skills, languages, capacities, site hours and routing settings in git
as one YAML file (export, edit, import), and run a routing pass by hand."""

from __future__ import annotations

from pathlib import Path

import typer

from opsdesk.cli.common import clock, console, fail, unit_of_work

routing_app = typer.Typer(help="Work routing: export and import its configuration as YAML, drain the queue.")


@routing_app.command("export")
def export(
    file: Path = typer.Option(None, "--file", "-f", help="Write here instead of to standard output."),
) -> None:
    """The routing configuration as YAML (what `opsdesk routing import` reads back)."""
    from opsdesk.desk.routing.admin import export_config
    from opsdesk.desk.routing.config_yaml import dump_config_yaml

    with unit_of_work() as session:
        text = dump_config_yaml(export_config(session))
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"wrote {file}")


@routing_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A YAML file as `opsdesk routing export` writes it."),
) -> None:
    """Create or update everything the file names (entries it leaves out are kept); all or nothing."""
    from opsdesk.desk.routing.admin import import_config
    from opsdesk.desk.routing.config_yaml import parse_config_yaml

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot read it ({exc})") from None
    with unit_of_work() as session:
        summary = import_config(session, config=parse_config_yaml(text), clock=clock, actor=None)
    console.print("imported " + ", ".join(f"{n} {what}" for what, n in summary.items()))


@routing_app.command("drain")
def drain_now() -> None:
    """Route the waiting work now (the routing job does this on its own when work or capacity appears)."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.settings import get_settings
    from opsdesk.desk.routing.dispatch import drain

    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    console.print(f"assigned {drain(factory, clock=clock)} tickets")


def register(app: typer.Typer) -> None:
    app.add_typer(routing_app, name="routing")
