"""`opsdesk import zendesk DIR` and `opsdesk import events FILE.csv`: ticket history from another
helpdesk into the desk and its event log. Other tools call these, so the arguments are a contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsdesk.cli.common import clock, console, err_console, fail

if TYPE_CHECKING:
    from opsdesk.insights.imports.history import Problem
    from opsdesk.insights.imports.runner import ImportReport, Parsed


def zendesk(
    folder: Path = typer.Argument(
        ..., help="Folder of organizations, groups, users, tickets and ticket_events .jsonl"
    ),
    batch: int = typer.Option(200, "--batch", min=1, max=10_000, help="Tickets per committed batch."),
    report_json: Path = typer.Option(None, "--report", help="Also write the report as JSON to this file."),
) -> None:
    """Import Zendesk history (re-running writes nothing twice; a killed run continues)."""
    from opsdesk.insights.imports.runner import read_zendesk
    from opsdesk.insights.imports.zendesk import SOURCE

    if not folder.is_dir():
        raise fail(f"{folder}: no such folder")
    problems: list[Problem] = []
    try:
        parsed = read_zendesk(folder, problems)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise fail(f"{folder}: a file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    _run(parsed, SOURCE, problems, batch, report_json)


def events(
    file: Path = typer.Argument(..., help="CSV event log (columns: see the README, 'Importing history')."),
    source: str = typer.Option(
        "events", "--source", help="Name of the system the log comes from; ids are unique per source."
    ),
    batch: int = typer.Option(200, "--batch", min=1, max=10_000, help="Tickets per committed batch."),
    report_json: Path = typer.Option(None, "--report", help="Also write the report as JSON to this file."),
) -> None:
    """Import a generic CSV event log of tickets (re-running writes nothing twice)."""
    from opsdesk.insights.imports.runner import read_event_csv

    if not file.is_file():
        raise fail(f"{file}: no such file")
    source = source.strip()
    if not source or len(source) > 80:
        raise fail("--source: give a name of 1 to 80 characters")
    problems: list[Problem] = []
    try:
        parsed = read_event_csv(file, problems)
    except UnicodeDecodeError as exc:
        raise fail(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    _run(parsed, f"events:{source}", problems, batch, report_json)


def _run(parsed: Parsed, source: str, problems: list[Problem], batch: int, report_json: Path | None) -> None:
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.settings import get_settings
    from opsdesk.insights.imports.runner import check_metrics, run

    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    report = run(factory, parsed, source=source, clock=clock, problems=problems, batch=batch)
    if parsed.metrics:
        check_metrics(factory, parsed, report, now=clock.now())
    _print(report)
    if report_json is not None:
        report_json.write_text(json.dumps(_as_json(report), indent=2) + "\n", encoding="utf-8")


def _print(report: ImportReport) -> None:
    for problem in report.problems:
        typer.echo(str(problem), err=True)
    counts = report.counts
    for kind in ("organisation", "group", "user", "ticket"):
        console.print(f"{kind}s: {counts.new[kind]} new, {counts.known[kind]} already imported")
    console.print(f"events: {counts.events} new; messages: {counts.messages} new")
    console.print(f"not mapped: {len(report.problems)} (listed above as FILE:LINE: why)")
    for row in report.metrics:
        tickets = [str(t) for t in row["tickets"]]  # type: ignore[attr-defined]
        shown = f" (e.g. tickets {', '.join(tickets)})" if tickets else ""
        console.print(
            f"{row['metric']} ({row['variant']}): {row['differ']} of {row['compared']} tickets "
            f"differ from Zendesk{shown}"
        )
    for note in report.notes:
        console.print(f"note: {note}")
    if report.problems:
        err_console.print(f"{len(report.problems)} record(s) or field(s) could not be mapped")


def _as_json(report: ImportReport) -> dict[str, object]:
    return {
        "source": report.source,
        "new": report.counts.new,
        "already_imported": report.counts.known,
        "events": report.counts.events,
        "messages": report.counts.messages,
        "not_mapped": [{"file": p.file, "line": p.line, "message": p.message} for p in report.problems],
        "metrics": report.metrics,
        "notes": report.notes,
    }


def register(app: typer.Typer) -> None:
    """Adds the two commands to the `import` group the success commands create (registered first)."""
    group = next(g.typer_instance for g in app.registered_groups if g.name == "import")
    assert group is not None
    group.command("zendesk")(zendesk)
    group.command("events")(events)
