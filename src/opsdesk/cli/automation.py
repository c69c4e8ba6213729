"""`opsdesk automation export|import|dry-run`: triggers, time rules and macros as YAML, so a team
keeps them in git; and `opsdesk automation publish-attributes`, the backfill of the customer-success
attributes rules test."""

from __future__ import annotations

from pathlib import Path

import typer

from opsdesk.cli.common import clock, console, fail, unit_of_work

automation_app = typer.Typer(help="Automation rules and macros: export, import, dry run.")


def _read_yaml(path: Path) -> object:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise fail(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


def _admin(session: object, email: str) -> object:
    from opsdesk.core import permissions
    from opsdesk.desk.automation.execute import user_by_email

    user = user_by_email(session, email)  # type: ignore[arg-type]
    if user is None or not permissions.has(user, permissions.SETTINGS_MANAGE):
        raise fail(f"--as: {email} is not an active admin")
    return user


@automation_app.command("export")
def export(
    out: Path = typer.Option(None, "--out", "-o", help="Write here instead of standard output."),
) -> None:
    """Every rule and macro as YAML."""
    import yaml

    from opsdesk.desk.automation.config_io import export_config

    with unit_of_work() as session:
        text = yaml.safe_dump(export_config(session), sort_keys=False, allow_unicode=True, width=100)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


@automation_app.command("import")
def import_(
    path: Path = typer.Argument(..., help="A YAML file written by `opsdesk automation export`."),
    as_: str = typer.Option(..., "--as", help="The admin the changes are recorded as (email)."),
) -> None:
    """Create or update rules (by name) and macros (by name and owner); all or nothing."""
    from opsdesk.desk.automation.config_io import import_config

    data = _read_yaml(path)
    with unit_of_work() as session:
        summary = import_config(session, data, actor=_admin(session, as_), clock=clock)  # type: ignore[arg-type]
    console.print(
        f"rules: {summary.rules_created} created, {summary.rules_updated} updated; "
        f"macros: {summary.macros_created} created, {summary.macros_updated} updated"
    )


@automation_app.command("dry-run")
def dry_run_command(
    path: Path = typer.Argument(..., help="A YAML file holding one rule (as in an export's rules list)."),
    days: int = typer.Option(7, "--days", min=1, max=90, help="How far back to replay."),
) -> None:
    """Replay one rule over the last days of the event log; print the tickets it would have changed."""
    from opsdesk.desk.automation.dry_run import dry_run
    from opsdesk.desk.automation.models import RuleKind

    rule = _read_yaml(path)
    if not isinstance(rule, dict) or not isinstance(rule.get("name"), str):
        raise fail(f"{path}: one rule, a mapping with a name")
    try:
        kind = RuleKind(rule.get("kind", "trigger"))
    except ValueError:
        raise fail(f"{path}: kind is trigger or time") from None
    with unit_of_work() as session:
        report = dry_run(
            session,
            name=rule["name"],
            kind=kind,
            conditions=rule.get("conditions") or {},
            actions=rule.get("actions"),
            once_per_ticket=bool(rule.get("once_per_ticket")),
            days=days,
            clock=clock,
        )
        session.rollback()
    console.print(
        f"{report.rule}: {report.tickets_changed} of {report.tickets_examined} tickets would have changed "
        f"in the last {days} days"
    )
    for firing in report.firings:
        what = "; ".join(_describe(c) for c in firing["changes"])
        console.print(f"  #{firing['ticket_id']} at {firing['at'].isoformat()}: {what}")


def _describe(change: dict[str, object]) -> str:
    name = change["action"]
    if name == "set_field":
        return f"{change['field']} {change['from']} -> {change['to']}"
    if name in ("add_tags", "remove_tags"):
        return f"{name.replace('_', ' ')} {', '.join(change['tags'])}"  # type: ignore[arg-type]
    if name in ("assign", "route"):
        return f"{name} {change['from']} -> {change['to']}"
    return str(name)


@automation_app.command("publish-attributes")
def publish_attributes() -> None:
    """Publish every account's segment, health band, ARR band and lifecycle stage to its organisation
    (normally kept current as they change; run once after an upgrade or a bulk import)."""
    from opsdesk.success.published import publish_all

    with unit_of_work() as session:
        count = publish_all(session, clock=clock)
    console.print(f"published the attributes of {count} organisation(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(automation_app, name="automation")
