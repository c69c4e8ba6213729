"""`opsdesk kpi METRIC [METRIC ...] --from --to [--by] [--business-hours] [--format] [--date]`: the KPI
engine on the command line. Other tools read its JSON, so its shape is a contract (see the README)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from opsdesk.cli.common import clock, console, fail
from opsdesk.insights.kpis.catalogue import BY_KEYS, DATE_BASES, METRICS

ENGINES = ("auto", "pandas", "duckdb")

FORMATS = ("table", "csv", "json")
NUMBERS = ("n", "mean_s", "median_s", "p90_s", "value", "numerator", "denominator")


def kpi(
    metrics: list[str] = typer.Argument(..., help="Metrics: " + ", ".join(METRICS), show_default=False),
    start: str = typer.Option(..., "--from", help="First day, inclusive (YYYY-MM-DD, UTC)."),
    end: str = typer.Option(..., "--to", help="Last day, inclusive (YYYY-MM-DD, UTC)."),
    by: str = typer.Option(None, "--by", help="Group by KEY[,KEY...]: " + ", ".join(BY_KEYS)),
    business_hours: bool = typer.Option(
        False, "--business-hours", help="Ticket durations in each ticket's SLA business hours."
    ),
    fmt: str = typer.Option("table", "--format", help="Output: " + ", ".join(FORMATS)),
    date_basis: str = typer.Option(
        "created", "--date", help="Put tickets in the period by their " + " or ".join(DATE_BASES) + " date."
    ),
    engine: str = typer.Option(
        "auto",
        "--engine",
        help="Compute with " + ", ".join(ENGINES) + " (auto: DuckDB for Parquet and large histories; "
        "the numbers are the same).",
    ),
    parquet: Path = typer.Option(
        None, "--parquet", help="Read tickets and events from this `opsdesk export parquet` folder."
    ),
) -> None:
    """KPIs for a period, grouped as asked (definitions: README, "KPIs")."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.errors import OpsDeskError
    from opsdesk.core.settings import get_settings
    from opsdesk.insights.kpis.queries import kpi_rows
    from opsdesk.insights.kpis.request import kpi_request

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}")
    if engine not in ENGINES:
        raise fail(f"--engine must be one of {', '.join(ENGINES)}")
    options = {"metric": "METRIC", "from": "--from", "to": "--to", "by": "--by", "date": "--date"}
    try:
        request = kpi_request(
            metrics=metrics, start=start, end=end, by=by, business_hours=business_hours, date_basis=date_basis
        )
    except OpsDeskError as exc:
        raise fail(f"{options.get(exc.field or '', exc.field)}: {exc.message}") from None
    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    with factory() as session:
        try:
            rows = kpi_rows(session, request, now=clock.now(), engine=engine, parquet=parquet)
        except FileNotFoundError as exc:
            raise fail(f"--parquet: {exc}") from None
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    columns = [*request.by, *(["target"] if "sla_attainment" in request.metrics else []), "metric"]
    columns += [c for c in NUMBERS if any(c in r for r in rows)]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(buffer.getvalue(), nl=False)
        return
    table = Table(
        title=f"KPIs {request.start} to {request.end}" + (f" by {', '.join(request.by)}" if by else "")
    )
    for column in columns:
        table.add_column(column, justify="right" if column in NUMBERS else "left")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def register(app: typer.Typer) -> None:
    app.command("kpi")(kpi)
