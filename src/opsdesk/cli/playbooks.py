"""Playbooks and voice of the customer on the command line: `opsdesk playbooks run` fires the episodes
under way (safe to repeat or to run from cron on several machines), `opsdesk feedback ranking` shows which
product areas and requests carry the most ARR and covered lives."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.progress import Progress
from rich.table import Table

from opsdesk.cli.common import clock, console, err_console, fail, unit_of_work
from opsdesk.core.years import YEARS, in_years, in_years_at

playbooks_app = typer.Typer(help="CSM playbooks: fire the tasks of every condition episode under way.")
feedback_app = typer.Typer(help="Voice of the customer: product feedback ranked by who asks.")


def parse_now(value: str | None) -> datetime:
    if value is None:
        return clock.now()
    try:
        now = in_years_at(datetime.fromisoformat(value))
    except ValueError:
        raise fail(f"--now: {value!r} is not an ISO date-time such as 2026-03-02T09:00:00Z") from None
    if now.tzinfo is None:
        raise fail(f"--now: {value!r} needs a time zone (add Z for UTC)")
    if now > clock.now():
        raise fail("--now: playbooks cannot be run for a future moment")
    return now


@playbooks_app.command("run")
def run(
    now: str = typer.Option(None, "--now", help="Evaluate as of this moment (ISO, with zone); default now."),
) -> None:
    """Run every active playbook over every account; an episode that already fired is left alone."""
    from sqlalchemy import func, select

    from opsdesk.success.models import Account
    from opsdesk.success.playbooks import engine

    at = parse_now(now)
    with unit_of_work() as session:
        total = int(session.scalar(select(func.count()).select_from(Account)) or 0)
        with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
            checking = progress.add_task(f"checking {total} accounts", total=total)
            firings = engine.plan_run(session, now=at, progress=lambda n: progress.advance(checking, n))
            firing = progress.add_task(f"firing {len(firings)} episodes", total=len(firings))
            result = engine.apply_run(
                session, firings, now=at, progress=lambda n: progress.advance(firing, n)
            )
    console.print(
        f"playbooks at {at.isoformat()}: {result.fired} episode(s) fired, "
        f"{result.tasks_created} task(s) created"
        + (f", {result.lost_races} already fired by a concurrent run" if result.lost_races else "")
    )
    for name, count in sorted(result.by_playbook.items()):
        console.print(f"  {name}: {count}")


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


@feedback_app.command("ranking")
def ranking(
    on: str = typer.Option(None, "--on", help="Weigh by ARR on this day (YYYY-MM-DD); default today."),
    include_closed: bool = typer.Option(False, "--include-closed", help="Count shipped and declined too."),
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many requests."),
) -> None:
    """Product areas and requests ranked by the ARR, then covered lives, of the accounts asking."""
    from opsdesk.success.voice import queries as voice_queries

    try:
        day = in_years(date.fromisoformat(on)) if on else clock.now().date()
    except ValueError:
        raise fail(f"--on: {on!r} is not a date {YEARS} (YYYY-MM-DD)") from None
    with unit_of_work() as session:
        areas, requests = voice_queries.ranking(session, on=day, include_closed=include_closed)
    if requests.empty:
        console.print("no feedback requests with asking accounts")
        return
    area_table = Table(
        "#", "product area", "requests", "accounts", "ARR", "covered lives", title=f"ARR on {day}"
    )
    for row in areas.itertuples(index=False):
        area_table.add_row(
            str(row.rank),
            row.product_area,
            str(row.requests),
            str(row.accounts),
            _money(row.arr_cents),
            f"{row.covered_lives:,}",
        )
    console.print(area_table)
    request_table = Table("#", "id", "request", "area", "status", "accounts", "ARR", "covered lives")
    for row in requests.head(limit).itertuples(index=False):
        request_table.add_row(
            str(row.rank),
            str(row.request_id),
            row.title,
            row.product_area,
            row.status,
            str(row.accounts),
            _money(row.arr_cents),
            f"{row.covered_lives:,}",
        )
    console.print(request_table)


@feedback_app.command("export")
def export(
    output: Path = typer.Option(None, "-o", "--output", help="Write the CSV here; default standard output."),
    on: str = typer.Option(None, "--on", help="Weigh by ARR on this day (YYYY-MM-DD); default today."),
    include_closed: bool = typer.Option(False, "--include-closed", help="Count shipped and declined too."),
) -> None:
    """Product requests as CSV for the product team: rank, area, status, accounts asking, and the ARR
    (cents) and covered lives behind each."""
    from opsdesk.success.voice.product_export import requests_csv

    try:
        day = in_years(date.fromisoformat(on)) if on else clock.now().date()
    except ValueError:
        raise fail(f"--on: {on!r} is not a date {YEARS} (YYYY-MM-DD)") from None
    with unit_of_work() as session:
        text = requests_csv(session, on=day, include_closed=include_closed)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"{output}: {text.count(chr(10)) - 1} request(s), ARR on {day}")


def register(app: typer.Typer) -> None:
    app.add_typer(playbooks_app, name="playbooks")
    app.add_typer(feedback_app, name="feedback")
