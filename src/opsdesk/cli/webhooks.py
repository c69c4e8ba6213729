"""`opsdesk webhooks`: subscriptions, their dead letters and replays, and YAML export/import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsdesk.cli.common import clock, console, fail, unit_of_work

if TYPE_CHECKING:
    from opsdesk.core.settings import Settings

webhooks_app = typer.Typer(
    help="Outbound webhooks: subscriptions, dead letters, replay.", no_args_is_help=True
)


def _settings() -> Settings:
    from opsdesk.core.settings import get_settings

    return get_settings()


@webhooks_app.command("list")
def list_subscriptions() -> None:
    """Every subscription: name, URL, event types, state."""
    from opsdesk.desk.outbound_webhooks import queries

    with unit_of_work() as session:
        for s in queries.subscriptions(session):
            state = "active" if s.active else "paused"
            sensitive = " sensitive-allowed" if s.allow_sensitive else ""
            console.print(f"{s.id}  {s.name}  {s.url}  {','.join(s.event_types)}  {state}{sensitive}")


@webhooks_app.command("create")
def create(
    name: str = typer.Argument(..., help="A unique name; automation rules call the webhook by it."),
    url: str = typer.Option(..., help="Where deliveries are posted (public http/https)."),
    event: list[str] = typer.Option(..., "--event", help="An event type to deliver (repeat), or * for all."),
    allow_sensitive: bool = typer.Option(False, "--allow-sensitive", help="Send sensitive tickets' content."),
) -> None:
    """Add a subscription; prints its signing secret, which is shown only this once."""
    from opsdesk.desk.outbound_webhooks import actions

    with unit_of_work() as session:
        made = actions.create_subscription(
            session, actor=None, clock=clock, settings=_settings(), name=name, url=url, event_types=event,
            allow_sensitive=allow_sensitive,
        )  # fmt: skip
        console.print(f"created webhook {made.subscription.name}; its secret (shown once): {made.secret}")


@webhooks_app.command("dead-letters")
def dead_letters(limit: int = typer.Option(100, min=1, max=1000, help="How many, newest first.")) -> None:
    """Deliveries that failed every attempt: id, subscription, event, attempts, last error."""
    from opsdesk.desk.outbound_webhooks import queries
    from opsdesk.desk.outbound_webhooks.models import DeliveryStatus

    with unit_of_work() as session:
        rows = queries.deliveries(session, status=DeliveryStatus.DEAD, limit=limit)
        if not rows:
            console.print("no dead letters")
        for d in rows:
            console.print(
                f"{d.id}  {d.subscription.name}  {d.event_type}#{d.event_id}  {d.attempts} attempts  "
                f"{d.last_error or ''}",
                markup=False,
            )


@webhooks_app.command("replay")
def replay(
    delivery_id: int = typer.Argument(None, min=1, max=2_147_483_647, help="A dead letter's id."),
    all_: bool = typer.Option(False, "--all", help="Replay every dead letter."),
) -> None:
    """Send dead letters again (same body and webhook-id), with a fresh count of attempts."""
    from opsdesk.desk.outbound_webhooks import actions

    if (delivery_id is None) == (not all_):
        raise fail("give one dead letter's ID or --all")
    with unit_of_work() as session:
        ids = actions.replay(session, actor=None, clock=clock, delivery_ids=None if all_ else [delivery_id])
    console.print(f"replaying {len(ids)} deliver{'y' if len(ids) == 1 else 'ies'}")


@webhooks_app.command("export")
def export(path: Path = typer.Argument(None, help="File to write; standard output when left out.")) -> None:
    """Subscriptions as YAML (never their secrets)."""
    import yaml

    from opsdesk.desk.outbound_webhooks.config_file import export_subscriptions

    with unit_of_work() as session:
        text = yaml.safe_dump(export_subscriptions(session), sort_keys=False, allow_unicode=True)
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text)


@webhooks_app.command("import")
def import_(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A YAML file from export."),
) -> None:
    """Create or update subscriptions by name; all or nothing. New secrets are printed once."""
    import yaml

    from opsdesk.desk.outbound_webhooks.config_file import import_subscriptions

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise fail(f"{path}: not YAML: {exc}") from None
    with unit_of_work() as session:
        result = import_subscriptions(session, data, clock=clock, settings=_settings())
    console.print(f"created {len(result.created)}, updated {len(result.updated)}")
    for name, secret in result.new_secrets.items():
        console.print(f"secret of {name} (shown once): {secret}")


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
