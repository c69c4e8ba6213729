"""`opsdesk mine`: process mining of any event log in a CSV file, written as a JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from opsdesk.cli.common import console, fail

HELP = """Mine an event log: variants, the directly-follows graph with waiting times, bottlenecks, rework
and time in each status.

EVENTS is a CSV file (gzip accepted), or a Parquet file (read through DuckDB), with one row per
event. Events of a case with equal timestamps keep their order in the file. Timestamps may be ISO 8601
with or without an offset (none = UTC), YYYY/MM/DD hh:mm:ss[.fff], or d/m/yyyy HH:MM with --dayfirst
(m/d/yyyy without it); a Parquet timestamp column is read as it is.

REPORT.json holds cases, events, variants [{activities, count, median_duration_s, ...}], edges
[{source, target, count, mean_s, median_s, ...}], start/end activities, bottlenecks, rework and
time_in_status; durations are in seconds.
"""


def mine(
    events: Path = typer.Argument(..., help="Event log CSV (plain or .gz) or .parquet.", show_default=False),
    case: str = typer.Option(..., "--case", help="Column naming the case (ticket, incident)."),
    activity: str = typer.Option(..., "--activity", help="Column naming the activity or status."),
    timestamp: str = typer.Option(..., "--timestamp", help="Column holding the event's time."),
    resource: str = typer.Option(None, "--resource", help="Column naming who did it: ping-pong A -> B -> A."),
    group: str = typer.Option(
        None, "--group", help="Column naming the team or support level: L1 -> L2 -> L1, time in status."
    ),
    dayfirst: bool = typer.Option(False, "--dayfirst", help="Read 2/5/2013 as 2 May, not February 5."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write REPORT.json."),
) -> None:
    from opsdesk.insights.mining.reader import EventLogError, read_event_csv
    from opsdesk.insights.mining.report import mining_report

    try:
        log = read_event_csv(
            events,
            case=case,
            activity=activity,
            timestamp=timestamp,
            resource=resource,
            group=group,
            dayfirst=dayfirst,
        )
    except EventLogError as exc:
        raise fail(str(exc)) from None
    report = mining_report(log, resource=resource, group=group)
    try:
        output.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise fail(f"{output}: cannot write ({exc.strerror or exc}) (-o)") from None
    console.print(
        f"{report['cases']} cases, {report['events']} events, {len(report['variants'])} variants, "
        f"{len(report['edges'])} edges; wrote {output}"
    )


def register(app: typer.Typer) -> None:
    app.command("mine", help=HELP)(mine)
