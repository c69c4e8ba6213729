"""`opsdesk forecast`: contact-volume forecasts per channel and interval with prediction intervals."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress

from opsdesk.cli.common import clock, console, err_console, fail, unit_of_work
from opsdesk.core.errors import ValidationFailed

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.workforce.forecasting.forecaster import VolumeForecast
    from opsdesk.workforce.forecasting.history import VolumeHistory
    from opsdesk.workforce.forecasting.holidays import DayKind

HELP = """Forecast contact volume per interval with 80% and 95% prediction intervals.

HISTORY is a CSV with columns timestamp,volume (ISO 8601 timestamps, with or without offsets) and
optionally channel (each channel is forecast on its own). History at a finer interval is summed
into --interval. Seasonality (weekday x time of day) is computed on local time: pass --timezone for
DST-correct offsets, otherwise each timestamp's own offset gives its local time and the last offset
is used for the output (no offset = UTC).

Slots of the week that hold no observation in at least half of the last 8 weeks are closed
(operating hours): they are not treated as missing data and forecast zero (or are left out with
--open-only). Missing open slots are filled from the same slot in nearby weeks; values further than
6 robust standard deviations from the median of the same slot two weeks either side are clipped
before fitting. At least 21 whole days of history are needed.

The model (daily-total models x intraday profiles, and their ensembles) is chosen per channel by
rolling-origin cross-validation on the history's last weeks; intervals come from its CV errors.
"""


def forecast(
    history: Path = typer.Argument(None, help="History CSV: timestamp,volume[,channel].", show_default=False),
    interval: str = typer.Option("30min", "--interval", help="Interval: 5min, 15min, 30min or 60min."),
    horizon: str = typer.Option("14d", "--horizon", help="How far ahead, e.g. 14d, 2w, 36h."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the forecast CSV."),
    timezone: str = typer.Option(None, "--timezone", help="Local time zone, e.g. Europe/Dublin."),
    closed: list[str] = typer.Option([], "--closed", help="A closed day (YYYY-MM-DD): forecast zero."),
    special: list[str] = typer.Option(
        [], "--special", help="A special day (YYYY-MM-DD) with its own profile learned from past ones."
    ),
    open_only: bool = typer.Option(False, "--open-only", help="Leave closed intervals out of the output."),
    customers: Path = typer.Option(
        None,
        "--customers",
        help="Customer counts CSV (timestamp,customers) covering history and horizon: "
        "volume = contacts per customer x customers.",
    ),
    thorough: bool = typer.Option(
        False, "--thorough", help="Also try statsforecast's AutoETS (and yearly MSTL) on day totals; slower."
    ),
    from_desk: bool = typer.Option(False, "--from-desk", help="Read the desk's own ticket history."),
    channel: str = typer.Option(None, "--channel", help="With --from-desk: the channel (e.g. phone)."),
) -> None:
    from opsdesk.workforce.forecasting.drivers import read_customers_csv
    from opsdesk.workforce.forecasting.history import parse_horizon, parse_interval, resolve_zone
    from opsdesk.workforce.forecasting.holidays import parse_special_days

    try:
        step_minutes = parse_interval(interval)
        span = parse_horizon(horizon)
        zone = resolve_zone(timezone)
        special_days = parse_special_days(closed, special)
        histories = _histories(history, zone, from_desk, channel, step_minutes)
        customer_counts = read_customers_csv(customers) if customers is not None else None
        results = _run(histories, step_minutes, span, special_days, open_only, customer_counts, thorough)
    except ValidationFailed as exc:
        where = f" ({exc.field})" if exc.field and exc.field not in exc.message else ""
        raise fail(f"{exc.message}{where}") from None
    try:
        _write(output, results, with_channel=list(histories) != [None])
    except OSError as exc:
        raise fail(f"{output}: cannot write ({exc.strerror or exc}) (-o)") from None
    for name, result in results.items():
        label = f"{name}: " if name is not None else ""
        console.print(
            f"{label}{len(result.frame)} intervals; model {result.model}; CV MAE {result.cv_mae:.2f} "
            f"over {result.folds} folds; {result.filled} gaps filled, {result.clipped} outliers clipped"
        )
    console.print(f"wrote {output}")


def _histories(
    path: Path | None, zone: ZoneInfo | None, from_desk: bool, channel: str | None, step_minutes: int
) -> dict[str | None, VolumeHistory]:
    from opsdesk.workforce import queries
    from opsdesk.workforce.forecasting.history import history_from_frame, read_history_csv

    if from_desk:
        if path is not None:
            raise ValidationFailed("give either HISTORY or --from-desk, not both", field="--from-desk")
        if not channel:
            raise ValidationFailed("--from-desk needs --channel (e.g. phone)", field="--channel")
        with unit_of_work() as session:
            frame = queries.contact_volume_history(
                session, channel=channel, step_minutes=step_minutes, before=clock.now()
            )
        if frame.empty:
            raise ValidationFailed(f"the desk has no tickets on channel {channel!r}", field="--channel")
        return {channel: history_from_frame(frame, zone=zone, source=f"the desk's {channel} history")}
    if path is None:
        raise ValidationFailed("give a HISTORY file or --from-desk", field="HISTORY")
    if channel:
        raise ValidationFailed("--channel goes with --from-desk", field="--channel")
    return read_history_csv(path, zone=zone)


def _run(
    histories: dict[str | None, VolumeHistory],
    step_minutes: int,
    span: timedelta,
    special_days: dict[date, DayKind],
    open_only: bool,
    customer_counts: pd.Series | None,
    thorough: bool,
) -> dict[str | None, VolumeForecast]:
    from opsdesk.workforce.forecasting.drivers import forecast_with_customers
    from opsdesk.workforce.forecasting.forecaster import forecast_volume
    from opsdesk.workforce.forecasting.selection import FOLDS

    results: dict[str | None, VolumeForecast] = {}
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("forecasting", total=len(histories) * FOLDS)

        def step() -> None:
            progress.advance(task)

        for name, history in histories.items():
            progress.update(task, description=f"forecasting {name or 'volume'}: CV folds")
            if customer_counts is not None:
                results[name] = forecast_with_customers(
                    history,
                    customer_counts,
                    step_minutes=step_minutes,
                    horizon=span,
                    special_days=special_days,
                    open_only=open_only,
                    on_fold=step,
                    thorough=thorough,
                )
            else:
                results[name] = forecast_volume(
                    history,
                    step_minutes=step_minutes,
                    horizon=span,
                    special_days=special_days,
                    open_only=open_only,
                    on_fold=step,
                    thorough=thorough,
                )
    return results


def _write(path: Path, results: dict[str | None, VolumeForecast], *, with_channel: bool) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        header = ["timestamp", "forecast", "lo80", "hi80", "lo95", "hi95"]
        writer.writerow([*header, "channel"] if with_channel else header)
        for name, result in results.items():
            frame = result.frame
            columns = [frame[c].to_numpy() for c in header[1:]]
            for index, stamp in enumerate(frame["timestamp"]):
                row = [stamp.isoformat(), *(f"{column[index]:.3f}" for column in columns)]
                writer.writerow([*row, name] if with_channel else row)


def register(app: typer.Typer) -> None:
    app.command("forecast", help=HELP)(forecast)
