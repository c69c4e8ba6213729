"""Administration: serve, migrate, users and API tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from opsdesk.cli.common import clock, console, fail, unit_of_work
from opsdesk.core.roles import Role, Tier

ROLE_NAMES = ", ".join(role.value for role in Role)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


def migrations_dir() -> Path:
    here = Path(__file__).resolve().parents[3] / "migrations"
    if not here.is_dir():
        raise fail(f"migrations folder not found at {here}; install OpsDesk from its source tree")
    return here


def migrate() -> None:
    """Create or upgrade the database schema to the latest version."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from opsdesk.core.database import make_engine
    from opsdesk.core.settings import get_settings

    url = get_settings().resolved_database_url()
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url)

    def current() -> str | None:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        finally:
            engine.dispose()

    head = ScriptDirectory.from_config(config).get_current_head()
    before = current()
    command.upgrade(config, "head")
    if before is None:
        console.print(f"created the database schema (version {head})")
    elif before != head:
        console.print(f"upgraded the database schema from version {before} to {head}")
    else:
        console.print(f"the database schema is already up to date (version {head})")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(None, help="HTTP port (default: OPSDESK_PORT or 8000)."),
    smtp_port: int = typer.Option(None, "--smtp-port", help="Also receive mail by SMTP on this port."),
    workers: int = typer.Option(
        None,
        min=1,
        help="Web worker processes. Default: 2 x CPUs + 1 on PostgreSQL, one on SQLite (its only choice).",
    ),
) -> None:
    """Serve the web application and API (and, with --smtp-port, the inbound mail listener)."""
    from opsdesk.core.settings import get_settings
    from opsdesk.web.server import default_workers, run

    settings = get_settings()
    is_sqlite = settings.resolved_database_url().startswith("sqlite")
    if workers is not None and workers > 1 and is_sqlite:
        raise typer.BadParameter(
            "more than one worker needs PostgreSQL (OPSDESK_DATABASE_URL)", param_hint="--workers"
        )
    run(
        host=host,
        port=port or settings.port,
        smtp_port=smtp_port,
        workers=workers or default_workers(settings),
    )


def user_add(
    email: str = typer.Argument(..., help="The user's email address (their sign-in name)."),
    role: Role = typer.Option(..., help="Role: " + ROLE_NAMES),
    tier: Tier = typer.Option(None, help="Agent tier, L1 or L2 (agents only)."),
    name: str = typer.Option("", help="Display name (default: the address)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password from standard input."
    ),
) -> None:
    """Add a user."""
    from opsdesk.core import actions as core_actions

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if len(password) < 10:
            raise fail("a password needs at least 10 characters (read from standard input)")
    with unit_of_work() as session:
        user = core_actions.create_user(
            session, email=email, name=name or email, role=role, tier=tier, password=password, clock=clock
        )
        session.flush()
        console.print(f"added user {user.id} {user.email} ({role.value}{' ' + tier.value if tier else ''})")


def token_create(
    email: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option("cli", help="A label for the token."),
) -> None:
    """Create an API token and print it once; only its hash is kept."""
    from opsdesk.core import actions as core_actions
    from opsdesk.core import queries as core_queries

    with unit_of_work() as session:
        user = core_queries.user_by_email(session, email)
        _row, clear = core_actions.create_api_token(session, user=user, name=name, clock=clock)
    typer.echo(clear)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(migrate)
    user_app.command("add")(user_add)
    token_app.command("create")(token_create)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
