"""Administration: serve, migrate, users and API tokens."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table

from opsdesk.cli.common import clock, console, fail, unit_of_work
from opsdesk.core.roles import Role, Tier

MAX_ID = 2**31 - 1  # the id columns' range; kept here so that --help loads no database code

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
        help="Web worker processes. Default: 2 x CPUs on PostgreSQL, one on SQLite (its only choice).",
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


_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def _lifetime(value: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m`` or ``never``."""
    if value.strip().lower() == "never":
        return None
    match = re.fullmatch(r"\s*(\d{1,7})\s*([mhd])\s*", value.lower())
    if match is None or int(match.group(1)) == 0:
        raise typer.BadParameter("give a positive number and m, h or d (e.g. 90d), or never")
    lifetime = int(match.group(1)) * _UNITS[match.group(2)]
    from opsdesk.core.schemas import MAX_TOKEN_DAYS

    if lifetime > timedelta(days=MAX_TOKEN_DAYS):
        raise typer.BadParameter(f"at most {MAX_TOKEN_DAYS} days; use never for a token without an end")
    return lifetime


def token_create(
    email: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option("cli", help="A label for the token (up to 100 characters)."),
    expires_in: str = typer.Option(
        "90d", "--expires-in", help="Lifetime: 90d, 12h, 30m, or never.", callback=_lifetime
    ),
) -> None:
    """Create an API token and print it once; only its hash is kept."""
    from opsdesk.core import actions as core_actions
    from opsdesk.core import queries as core_queries

    lifetime: timedelta | None = expires_in  # type: ignore[assignment]  # the callback converted it
    with unit_of_work() as session:
        user = core_queries.user_by_email(session, email)
        _row, clear = core_actions.create_api_token(
            session, user=user, name=name, clock=clock, expires_in=lifetime
        )
    typer.echo(clear)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def token_list(email: str = typer.Argument(None, help="Only this user's tokens.")) -> None:
    """List API tokens (never their values): owner, last use, expiry and status."""
    from opsdesk.core import queries as core_queries

    with unit_of_work() as session:
        user = core_queries.user_by_email(session, email) if email else None
        table = Table(title="API tokens")
        for column in ("id", "user", "name", "created", "last used", "expires", "status"):
            table.add_column(column)
        now = clock.now()
        for token in core_queries.tokens(session, user=user):
            table.add_row(
                str(token.id),
                token.user.email or token.user.name,
                token.name,
                _when(token.created_at),
                _when(token.last_used_at),
                _when(token.expires_at) or "never",
                core_queries.token_status(token, now),
            )
    console.print(table)


def token_revoke(
    token_id: int = typer.Argument(..., min=1, max=MAX_ID, help="The token's id (token list)."),
) -> None:
    """Revoke an API token at once."""
    from opsdesk.core import actions as core_actions
    from opsdesk.core import queries as core_queries
    from opsdesk.core.models import ApiToken

    with unit_of_work() as session:
        token = core_queries.get_or_not_found(session, ApiToken, token_id, "API token", field="id")
        core_actions.revoke_api_token(session, token=token, clock=clock, actor=None)
    console.print(f"revoked token {token_id}")


def user_deactivate(email: str = typer.Argument(..., help="The user's email address.")) -> None:
    """Deactivate a user: no sign-in, and their sessions and API tokens end now."""
    from opsdesk.core import actions as core_actions
    from opsdesk.core import queries as core_queries

    with unit_of_work() as session:
        user = core_queries.user_by_email(session, email)
        core_actions.deactivate_user(session, user=user, clock=clock, actor=None)
    console.print(f"deactivated {user.email}; their sessions ended and their tokens are revoked")


def user_reactivate(email: str = typer.Argument(..., help="The user's email address.")) -> None:
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    from opsdesk.core import actions as core_actions
    from opsdesk.core import queries as core_queries

    with unit_of_work() as session:
        user = core_queries.user_by_email(session, email)
        core_actions.reactivate_user(session, user=user, clock=clock, actor=None)
    console.print(f"reactivated {user.email}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(migrate)
    user_app.command("add")(user_add)
    user_app.command("deactivate")(user_deactivate)
    user_app.command("reactivate")(user_reactivate)
    token_app.command("create")(token_create)
    token_app.command("list")(token_list)
    token_app.command("revoke")(token_revoke)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
