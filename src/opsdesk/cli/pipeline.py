"""Renewals, the pipeline forecast and the CSM book of business on the command line:
`opsdesk renewals generate`, `opsdesk pipeline forecast|accuracy`, `opsdesk portfolio [--rebalance]`."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from opsdesk.cli.common import clock, console, fail, unit_of_work
from opsdesk.core.years import YEARS, in_years
from opsdesk.success.pipeline.lead_time import DEFAULT_LEAD_DAYS

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.success import portfolio as book

FORMATS = ("table", "csv", "json")
RATIOS = {"load", "account_load", "arr_load", "tasks_on_time", "renewal_rate", "nrr", "pct_error"}
MONEY = {"closed_won", "commit", "best_case", "open_pipeline", "weighted", "p10", "p50", "p90", "arr_cents",
         "forecast", "actual", "error"}  # fmt: skip

renewals_app = typer.Typer(help="Renewal opportunities ahead of contract end.", no_args_is_help=True)
pipeline_app = typer.Typer(help="The renewal and expansion pipeline forecast.", no_args_is_help=True)


def _day(option: str, value: str | None, default: date) -> date:
    if value is None:
        return default
    try:
        return in_years(date.fromisoformat(value))
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date {YEARS} (YYYY-MM-DD)") from None


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}")
    return fmt


def _plain(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.Timestamp | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in MONEY:
        return f"${value / 100:,.0f}"
    if column in RATIOS:
        return f"{value:.1%}"
    return str(value)


def _render(frame: pd.DataFrame, fmt: str, *, title: str) -> None:
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if fmt == "json":
        typer.echo(json.dumps(records, indent=2))
        return
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False, date_format="%Y-%m-%d"), nl=False)
        return
    table = Table(title=title)
    for column in frame.columns:
        # Money shows in dollars in a table, so its header drops the "_cents" of the csv/json field.
        header = column.removesuffix("_cents") if column in MONEY else column
        table.add_column(header, justify="left" if column in ("month", "csm", "account") else "right")
    for record in records:
        table.add_row(*(_cell(c, record[c]) for c in frame.columns))
    console.print(table)


@renewals_app.command("generate")
def generate(
    lead_days: int = typer.Option(
        DEFAULT_LEAD_DAYS,
        "--lead-days",
        help="Open renewals for terms ending within this many days.",
    ),
) -> None:
    """Open one renewal opportunity per subscription term ending soon; reruns add nothing twice."""
    from opsdesk.success.pipeline import renewals

    with unit_of_work() as session:
        run = renewals.generate_renewals(session, today=clock.now().date(), lead_days=lead_days, clock=clock)
        created = [(o.name, o.amount_cents, o.close_date) for o in run.created]
    for name, amount, close in created:
        console.print(f"  {name}: ${amount / 100:,.2f}, closes {close}")
    console.print(
        f"{len(created)} renewal opportunity(ies) created; {run.already_open} already open, "
        f"{run.skipped_renewed} already renewed, {run.skipped_amended} ended by an amendment"
    )


@pipeline_app.command("forecast")
def forecast(
    start: str = typer.Option(None, "--from", help="First month (YYYY-MM-DD; default this month)."),
    end: str = typer.Option(None, "--to", help="Last month (YYYY-MM-DD; default two months on)."),
    fmt: str = typer.Option("table", "--format", help="Output: " + ", ".join(FORMATS)),
    probabilities: bool = typer.Option(False, "--probabilities", help="Also show the stage probabilities."),
) -> None:
    """Closed won, commit, best case, open pipeline, the weighted forecast and its P10-P90 per month
    (amounts in cents in csv/json)."""
    import pandas as pd

    from opsdesk.success.pipeline import queries

    today = clock.now().date()
    first = _day("--from", start, today.replace(day=1))
    last = _day("--to", end, (pd.Timestamp(first) + pd.DateOffset(months=3)).date() - timedelta(days=1))
    _format(fmt)
    with unit_of_work() as session:
        result = queries.forecast(session, first, last)
    _render(result.months, fmt, title=f"Pipeline forecast {first:%Y-%m} to {last:%Y-%m}")
    if probabilities:
        table = pd.DataFrame([vars(r) for r in result.probabilities.rows])
        _render(table, fmt, title="Stage probabilities (calibrated from closed opportunities)")


@pipeline_app.command("accuracy")
def accuracy(
    start: str = typer.Option(None, "--from", help="First past month (default six months back)."),
    end: str = typer.Option(None, "--to", help="Last past month (default last month)."),
    fmt: str = typer.Option("table", "--format", help="Output: " + ", ".join(FORMATS)),
) -> None:
    """The forecast made at each month's start against what closed won; MAPE, WAPE and bias."""
    import pandas as pd

    from opsdesk.success.pipeline import queries

    today = clock.now().date()
    last = _day("--to", end, today.replace(day=1) - timedelta(days=1))
    first = _day("--from", start, (pd.Timestamp(last.replace(day=1)) - pd.DateOffset(months=5)).date())
    _format(fmt)
    with unit_of_work() as session:
        result = queries.accuracy(session, first, last, today)
    _render(result.months, fmt, title="Forecast accuracy")
    if fmt == "table":
        console.print(", ".join(f"{k} {_cell('nrr', v)}" for k, v in result.summary.items() if k != "months"))


def _capacity(path: Path | None) -> dict[str, book.Capacity]:
    """``{"Segment name": {"accounts": 20, "arr_cents": 300000000}, ...}``; unnamed segments keep the
    defaults."""
    from opsdesk.success import portfolio as book

    if path is None:
        return dict(book.DEFAULT_CAPACITY)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise fail(f"{path}: expected an object of segment names")
    capacity = dict(book.DEFAULT_CAPACITY)
    for segment, target in raw.items():
        accounts = target.get("accounts") if isinstance(target, dict) else None
        arr = target.get("arr_cents") if isinstance(target, dict) else None
        if not (isinstance(accounts, int) and accounts > 0 and isinstance(arr, int) and arr > 0):
            raise fail(f"{path}: {segment!r} needs positive whole numbers 'accounts' and 'arr_cents'")
        capacity[segment] = book.Capacity(accounts, arr)
    return capacity


def portfolio(
    rebalance: bool = typer.Option(False, "--rebalance", help="Suggest moves from over-capacity CSMs."),
    apply: bool = typer.Option(False, "--apply", help="With --rebalance: make the suggested moves."),
    capacity_file: Path = typer.Option(None, "--capacity", help="JSON capacity targets per segment."),
    start: str = typer.Option(None, "--from", help="KPI period start (default 365 days before --to)."),
    end: str = typer.Option(None, "--to", help="Book date and KPI period end (default today)."),
    fmt: str = typer.Option("table", "--format", help="Output: " + ", ".join(FORMATS)),
) -> None:
    """Each CSM's book (accounts, ARR, lives, health mix, load) and KPIs; optionally rebalancing moves."""
    import pandas as pd

    from opsdesk.success import portfolio as book

    capacity = _capacity(capacity_file)
    last = _day("--to", end, clock.now().date())
    first = _day("--from", start, last - timedelta(days=364))
    if last < first:
        raise fail("--to is before --from")
    _format(fmt)
    if apply and not rebalance:
        raise fail("--apply makes the --rebalance moves: pass both")
    if apply and last != clock.now().date():
        raise fail("--apply moves today's books: leave --to out")
    with unit_of_work() as session:
        books = book.portfolio(session, last, capacity)
        kpis = book.productivity(session, first, last).drop(columns=["csm", "accounts"])
        if apply:
            from opsdesk.success.rebalancing import apply_rebalance

            moves, accounts = apply_rebalance(session, last, clock=clock, capacity=capacity)
            books = book.portfolio(session, last, capacity)  # the books after the moves
        else:
            moves, accounts = book.rebalance_suggestions(session, last, capacity) if rebalance else ([], None)
    _render(
        books.merge(kpis, on="csm_id", how="left").drop(columns=["csm_id"]), fmt, title=f"Books on {last}"
    )
    if rebalance and accounts is not None:
        names = dict(zip(accounts["account_id"], accounts["name"], strict=True))
        csm_names = dict(zip(books["csm_id"], books["csm"], strict=True))
        frame = pd.DataFrame(
            [
                {
                    "account": names[m.account_id],
                    "from": csm_names.get(m.from_csm_id),
                    "to": csm_names.get(m.to_csm_id),
                    "arr_cents": m.arr_cents,
                    "same_region": m.fits_region,
                    "same_segment": m.fits_segment,
                }
                for m in moves
            ],
            columns=["account", "from", "to", "arr_cents", "same_region", "same_segment"],
        )
        if fmt == "table" and frame.empty:
            console.print(_no_moves(books))
        else:
            _render(frame, fmt, title="Moves made" if apply else "Suggested moves")


def _no_moves(books: pd.DataFrame) -> str:
    """Why no move is suggested: all within capacity, or the team as a whole is over it."""
    if books.empty or float(books["load"].max()) <= 1:
        return "no moves needed: every CSM is within capacity"
    total = float(books["load"].sum())
    short = math.ceil(total - 1e-9) - len(books)
    return (
        f"no moves: the books are as even as moves can make them, and the team carries {total:.1f} "
        f"CSMs' worth of customers with {len(books)} CSMs ({short} more needed at these capacity targets)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(renewals_app, name="renewals")
    app.add_typer(pipeline_app, name="pipeline")
    app.command("portfolio")(portfolio)
