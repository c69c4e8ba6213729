"""`opsdesk views`: the team's shared ticket views as YAML, to keep in git and load into another desk."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from opsdesk.cli.common import clock, console, fail, unit_of_work

views_app = typer.Typer(help="Shared ticket views: export and import as YAML.", no_args_is_help=True)


@views_app.command("export")
def export(path: Path = typer.Argument(None, help="File to write; standard output when left out.")) -> None:
    """Every shared view: name, filters, sort."""
    import yaml

    from opsdesk.desk.views.queries import shared_views

    with unit_of_work() as session:
        data = [{"name": v.name, "filters": dict(v.filters), "sort": v.sort} for v in shared_views(session)]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text)


@views_app.command("import")
def import_(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A YAML file from export."),
    owner: str = typer.Option(..., help="Email of the support lead or admin the views are saved under."),
) -> None:
    """Create or replace shared views by name; all or nothing."""
    import yaml
    from sqlalchemy import select

    from opsdesk.core.models import User
    from opsdesk.desk.views.actions import import_shared_views

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise fail(f"{path}: not YAML: {exc}") from None
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == owner.strip().lower()))
        if user is None:
            raise fail(f"no user {owner}")
        saved = import_shared_views(session, data, owner=user, clock=clock)
    console.print(f"imported {len(saved)} shared view{'' if len(saved) == 1 else 's'}")


def register(app: typer.Typer) -> None:
    app.add_typer(views_app, name="views")
