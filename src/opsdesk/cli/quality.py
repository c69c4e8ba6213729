"""`opsdesk qa ...`: publish a rubric, export reviews as CSV, IQS and the week's review queue. Each
command acts as a named user (``--as``), so it sees and may do exactly what that person may in the app."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from opsdesk.cli.common import clock, console, fail, unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from opsdesk.core.models import User

qa_app = typer.Typer(help="Quality assurance: rubrics, reviews, IQS and review queues.", no_args_is_help=True)
AS = typer.Option(..., "--as", help="Act as this user (email): what they may see and do.")


def _person(session: Session, email: str, option: str) -> User:
    from sqlalchemy import select

    from opsdesk.core.models import User

    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise fail(f"no user with email {email} ({option})")
    return user


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} must be a date, YYYY-MM-DD") from None
    if not 1900 <= day.year <= 2200:
        raise fail(f"{option} must be within the years 1900-2200")
    return day


@qa_app.command("publish-rubric")
def publish_rubric(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The rubric as JSON."),
    acting: str = AS,
) -> None:
    """Publish a rubric; the same name again makes a new version (old reviews keep theirs)."""
    from pydantic import ValidationError

    from opsdesk.quality import actions
    from opsdesk.quality.schemas import RubricIn

    try:
        rubric = RubricIn.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise fail(f"{path}: {exc}") from None
    with unit_of_work() as session:
        version = actions.publish_rubric(
            session, rubric=rubric, actor=_person(session, acting, "--as"), clock=clock
        )
        console.print(f"published {rubric.name!r} version {version.version} (id {version.id})")


@qa_app.command("export")
def export_reviews(
    acting: str = AS,
    agent: str = typer.Option(None, "--agent", help="Only this agent's reviews (email)."),
    start: str = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Reviews (outside calibration) the user may read, as CSV."""
    from opsdesk.desk import access as desk_access
    from opsdesk.quality import export, queries

    with unit_of_work() as session:
        user = _person(session, acting, "--as")
        agent_id = _person(session, agent, "--agent").id if agent else None
        query = queries.reviews_query(
            user, agent_id=agent_id, start=_day(start, "--from"), end=_day(end, "--to")
        )
        rows = list(session.scalars(query))
        desk_access.audit_shown(session, user, [r.ticket for r in rows], clock, via="qa_export_cli")
        text = "".join(export.csv_lines(rows))
    if output is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"{len(rows)} reviews written to {output}")
    else:
        typer.echo(text, nl=False)


@qa_app.command("iqs")
def iqs(
    acting: str = AS,
    agent: str = typer.Option(None, "--agent", help="This agent's IQS (email); default everyone's."),
    start: str = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
) -> None:
    """Internal quality score: the mean review score, calibration reviews left out."""
    from opsdesk.core import permissions
    from opsdesk.quality import queries

    with unit_of_work() as session:
        user = _person(session, acting, "--as")
        agent_id = _person(session, agent, "--agent").id if agent else None
        if not permissions.has(user, permissions.QA_REVIEW) and agent_id not in (None, user.id):
            raise fail("agents see their own IQS only (--agent)")
        if not permissions.has(user, permissions.QA_REVIEW):
            agent_id = user.id
        result = queries.iqs_of(
            session, user, agent_id=agent_id, start=_day(start, "--from"), end=_day(end, "--to")
        )
    shown = "no reviews" if result.iqs is None else f"{result.iqs:.1f}%"
    console.print(f"IQS {shown} over {result.reviews} reviews")


@qa_app.command("queue")
def queue(
    acting: str = AS,
    week: str = typer.Option(None, "--week", help="A day in the week (default: this week)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**31 - 1, help="The same seed gives the same sample."),
) -> None:
    """The week's review queue (a lead sees everyone's), with why each conversation was chosen."""
    from opsdesk.quality.sampling_queries import queue_rows

    with unit_of_work() as session:
        rows = queue_rows(session, _person(session, acting, "--as"), clock, _day(week, "--week"), seed)
    table = Table(title="Review queue")
    for column in ("ticket", "agent", "reviewer", "reason", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            f"#{row['ticket_id']}",
            str(row["agent_id"]),
            str(row["reviewer_id"] or "nobody may read it"),
            row["reason"],
            Text(row["why"]),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(qa_app, name="qa")
