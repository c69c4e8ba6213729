"""Customer health on the command line: scoring runs and the backtest of health against churn."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress
from rich.table import Table

from opsdesk.cli.common import clock, console, err_console, fail, unit_of_work
from opsdesk.core.years import YEARS, in_years

if TYPE_CHECKING:
    from opsdesk.success.imports.base import ImportReport

health_app = typer.Typer(help="Customer health scores: score accounts, check the scores against churn.")
HORIZON = re.compile(r"^\s*(\d+)\s*([dwm]?)\s*$")
DAYS_PER = {"": 1, "d": 1, "w": 7, "m": 30}


def parse_horizon(value: str) -> int:
    """``180d``, ``26w``, ``6m`` (30-day months) or a plain number of days."""
    match = HORIZON.match(value.lower())
    if match is None or int(match.group(1)) == 0:
        raise fail(f"--horizon: {value!r} is not a horizon such as 180d, 26w or 6m")
    days = int(match.group(1)) * DAYS_PER[match.group(2)]
    if days > 1095:
        raise fail("--horizon: at most three years")
    return days


@health_app.command("score")
def score(
    as_of: str = typer.Option(None, "--as-of", help="Score as known at the end of this day (YYYY-MM-DD)."),
) -> None:
    """Compute and store every account's health for a date (today by default); reruns replace it."""
    from sqlalchemy import func, select

    from opsdesk.success.health import actions
    from opsdesk.success.models import Account

    if as_of is None:
        day = clock.now().date()
    else:
        try:
            day = in_years(date.fromisoformat(as_of))
        except ValueError:
            raise fail(f"--as-of: {as_of!r} is not a date {YEARS} (YYYY-MM-DD)") from None
    with unit_of_work() as session:
        total = int(session.scalar(select(func.count()).select_from(Account)) or 0)
        with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
            task = progress.add_task(f"scoring {total} accounts", total=total)
            run = actions.score_accounts(
                session, as_of=day, clock=clock, progress=lambda n: progress.advance(task, n)
            )
    console.print(
        f"health on {run.scored_on}: {run.scored} account(s) scored, {run.unscored} without a score"
    )
    for change, count in sorted(run.band_changes.items()):
        console.print(f"  {change}: {count}")


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


@health_app.command("backtest")
def backtest(
    horizon: str = typer.Option(
        "180d", "--horizon", help="Look this far after each snapshot (180d, 26w, 6m)."
    ),
    suggest_weights: bool = typer.Option(
        False, "--suggest-weights", help="Fit measure weights to the history and show them."
    ),
) -> None:
    """How well past health predicted churn or contraction: AUC, lift in the riskiest tenth, per-measure
    AUC and, on request, weights fitted to the history."""
    from opsdesk.success.health import actions, queries
    from opsdesk.success.health.measures import DEFAULT_WEIGHTS, MEASURES

    days = parse_horizon(horizon)
    with unit_of_work() as session:
        result = queries.run_backtest(
            session, horizon_days=days, today=clock.now().date(), suggest=suggest_weights
        )
        default = next((c for c in queries.scorecards(session) if c.name == actions.DEFAULT_SCORECARD), None)
        current = {m.measure: m.weight for m in default.measures} if default else DEFAULT_WEIGHTS
    console.print(
        f"{result.snapshots} snapshot(s) with {days} days of hindsight, {result.positives} followed by churn "
        f"or contraction" + (f" ({result.base_rate:.1%})" if result.base_rate is not None else "")
    )
    if result.auc is None:
        console.print("AUC: - (needs snapshots followed by churn and snapshots not followed by it)")
    else:
        console.print(f"AUC: {result.auc:.3f} (0.5 = no better than chance, 1.0 = perfect ranking)")
    console.print(f"lift at top decile: {_num(result.lift_top_decile, '.2f')}")
    table = Table(title="Measures (weight now: the Default scorecard)")
    for column in ("measure", "AUC", "coverage", "weight now"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    if suggest_weights:
        table.add_column("suggested weight", justify="right")
    for key in MEASURES:
        cells = [key, _num(result.measure_auc.get(key)), f"{result.coverage.get(key, 0.0):.0%}"]
        cells.append(str(current.get(key, 0)))
        if suggest_weights:
            fitted = result.suggested_weights is not None and result.coverage.get(key, 0.0) > 0
            cells.append(str(result.suggested_weights[key]) if fitted and result.suggested_weights else "-")
        table.add_row(*cells)
    console.print(table)
    if suggest_weights and result.suggested_weights:
        console.print(
            f"suggested weights: AUC {_num(result.suggested_auc)} on these snapshots, "
            f"{_num(result.holdout_auc)} on the latest third when fitted on the earlier two thirds"
        )
    for note in result.notes:
        console.print(f"note: {note}")


@health_app.command("signals")
def signals(
    file: Path = typer.Argument(..., help="CSV: Account ID, Signal, Observed[, Value, Source]."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report; write nothing."),
) -> None:
    """Import health inputs kept elsewhere: nps, exec_engagement, payment_days_overdue, csat."""
    from opsdesk.success.health.signals_import import import_signals
    from opsdesk.success.imports.base import ImportFailed

    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise fail(f"{file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise fail(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    with unit_of_work() as session:
        try:
            report = import_signals(session, text, clock=clock, dry_run=dry_run)
        except ImportFailed as exc:
            _print_rejections(file, exc.report)
            raise fail(f"{file}: {exc.message}", code=1) from None
    _print_rejections(file, report)
    verb = "would create" if dry_run else "created"
    console.print(
        f"{file}: {report.rows} row(s); {verb} {report.created}, "
        f"{'would update' if dry_run else 'updated'} {report.updated}, rejected {report.rejected_lines}"
    )
    if dry_run and report.rejected:
        raise typer.Exit(1)


def _print_rejections(path: Path, report: ImportReport) -> None:
    """FILE:LINE: [COLUMN] why, one line each, as the CRM imports report them."""
    for error in report.rejected:
        column = f" [{error.column}]" if error.column else ""
        typer.echo(f"{path}:{error.line}:{column} {error.message}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(health_app, name="health")
