"""Customer success on the command line: retention reports and CRM imports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import Progress
from rich.table import Table

from opsdesk.cli.common import clock, console, err_console, fail, unit_of_work
from opsdesk.core.plain_values import plain
from opsdesk.core.years import YEARS, in_years
from opsdesk.success.groupings import BY_CHOICES

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.success.imports import ImportReport

FORMATS = ("table", "csv", "json")
VIEWS = ("bridge", "renewals", "cohorts")
# The keys of opsdesk.success.imports.IMPORTERS, named here so that listing the commands loads no importer.
IMPORT_KINDS = ("accounts", "contacts", "contracts", "utilisation", "opportunities")
MONEY_COLUMNS = {
    "start_arr", "new", "reactivation", "expansion", "escalator", "contraction", "churn", "end_arr",
    "renewal_base", "renewed_gross", "renewed_net", "base_arr", "arr",
}  # fmt: skip
RATIO_COLUMNS = {"grr", "nrr", "logo_churn", "nrr_12m", "ndr", "gdr"}
SHORT_HEADERS = {
    "customers_start": "customers", "customers_lost": "lost", "customers_new": "won",
    "start_arr": "start ARR", "reactivation": "reactivated", "contraction": "contracted",
    "end_arr": "end ARR", "grr": "GRR",
    "nrr": "NRR", "logo_churn": "logo churn", "nrr_12m": "NRR 12m", "ndr": "NDR", "gdr": "GDR",
}  # fmt: skip

import_app = typer.Typer(
    help="Import CRM exports (CSV); see examples/import/README.md.", no_args_is_help=True
)


def _day(option: str, value: str) -> date:
    try:
        return in_years(date.fromisoformat(value))
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date {YEARS} (YYYY-MM-DD)") from None


def retention(
    start: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last day of the period, inclusive (YYYY-MM-DD)."),
    by: str = typer.Option("none", "--by", help="Group by: " + ", ".join(BY_CHOICES)),
    fmt: str = typer.Option("table", "--format", help="Output: " + ", ".join(FORMATS)),
    view: str = typer.Option(
        "bridge", "--view", help="bridge (GRR/NRR/logo churn), renewals (ARR up for renewal), cohorts"
    ),
) -> None:
    """GRR, NRR, logo churn and the ARR bridge for a period (amounts in cents in csv/json)."""
    from opsdesk.success import queries

    first, last = _day("--from", start), _day("--to", end)
    if last < first:
        raise fail("--to is before --from")
    if by not in BY_CHOICES:
        raise fail(f"--by must be one of {', '.join(BY_CHOICES)}")
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}")
    if view not in VIEWS:
        raise fail(f"--view must be one of {', '.join(VIEWS)}")
    with unit_of_work() as session:
        if view == "bridge":
            frame = queries.retention_report(session, first, last, by, today=clock.now().date())
        elif view == "renewals":
            frame = queries.renewal_report(session, first, last, by, today=clock.now().date())
        else:
            frame = queries.cohort_report(session, last, today=clock.now().date())
    _render(frame, fmt, title=f"Retention {first} to {last}" + (f" by {by}" if by != "none" else ""))


def _render(frame: pd.DataFrame, fmt: str, *, title: str) -> None:
    records = [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if fmt == "json":
        typer.echo(json.dumps(records, indent=2))
        return
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False, date_format="%Y-%m-%d"), nl=False)
        return
    if frame.empty:
        console.print("no ARR movements in the database yet")
        return
    # Metrics down, groups across: a bridge reads top to bottom and fits a terminal however many lines.
    label = "cohort" if "cohort" in frame.columns else "group"
    shown = [c for c in frame.columns if c not in {label, "period_start", "period_end"}]
    if label == "cohort":
        frame = frame.assign(cohort=frame["cohort"] + " m" + frame["month"].astype(str))
        shown.remove("month")
        records = [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    table = Table(title=title)
    table.add_column("")
    for record in records:
        table.add_column(str(record[label]), justify="right")
    for column in shown:
        table.add_row(
            SHORT_HEADERS.get(column, column), *(_cell(column, record[column]) for record in records)
        )
    console.print(table)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in MONEY_COLUMNS:
        return f"${value / 100:,.0f}"
    if column in RATIO_COLUMNS:
        return f"{value:.1%}"
    return str(value)


def _run_import(kind: str, path: Path, dry_run: bool, skip_invalid: bool) -> None:
    from opsdesk.success.imports import ImportFailed, import_csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    total = max(text.count("\n") - 1, 1)
    with (
        unit_of_work() as session,
        Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as progress,
    ):
        task = progress.add_task(f"importing {kind}", total=total)
        try:
            report = import_csv(
                session,
                kind,
                text,
                clock=clock,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=lambda n: progress.advance(task, n),
            )
        except ImportFailed as exc:
            progress.stop()
            _print_rejections(path, exc.report)
            raise fail(f"{path}: {exc.message}; fix the rows or pass --skip-invalid", code=1) from None
    _print_rejections(path, report)
    verb = "would create" if dry_run else "created"
    console.print(
        f"{path}: {report.rows} row(s); {verb} {report.created}, "
        f"{'would update' if dry_run else 'updated'} {report.updated}, rejected {report.rejected_lines}"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    if dry_run and report.rejected:
        raise typer.Exit(1)


def _print_rejections(path: Path, report: ImportReport) -> None:
    """One plain line per rejection, FILE:LINE: [COLUMN] why, so editors and grep can jump to it."""
    for error in report.rejected:
        column = f" [{error.column}]" if error.column else ""
        typer.echo(f"{path}:{error.line}:{column} {error.message}", err=True)


def _import_command(kind: str) -> Any:
    def command(
        file: Path = typer.Argument(..., help=f"The {kind} CSV export."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report; write nothing."),
        skip_invalid: bool = typer.Option(
            False, "--skip-invalid", help="Import the valid rows even if some are rejected."
        ),
    ) -> None:
        _run_import(kind, file, dry_run, skip_invalid)

    command.__doc__ = f"Import {kind} from a CRM CSV export (re-importing updates by external id)."
    return command


def apply_amendments(
    as_of: str = typer.Option(None, "--as-of", help="Apply what is in force on this day (YYYY-MM-DD)."),
) -> None:
    """Give accounts the covered lives of contract amendments whose day has come (the hourly job does
    the same); rerunning changes nothing."""
    from opsdesk.success.contracts import apply_due_amendments

    day = clock.now().date() if as_of is None else _day("--as-of", as_of)
    with unit_of_work() as session:
        changed = apply_due_amendments(session, as_of=day, clock=clock)
    console.print(f"{len(changed)} account(s) took the covered lives of an amendment in force on {day}")


def register(app: typer.Typer) -> None:
    app.command()(retention)
    app.command("apply-amendments")(apply_amendments)
    import_app = typer.Typer(
        help="Import CRM exports (CSV; see examples/import/README.md) and helpdesk history.",
        no_args_is_help=True,
    )
    for kind in IMPORT_KINDS:
        import_app.command(kind)(_import_command(kind))
    app.add_typer(import_app, name="import")
