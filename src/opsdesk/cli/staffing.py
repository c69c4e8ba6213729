"""`opsdesk staff`: agents per interval from a volume forecast."""

from __future__ import annotations

from pathlib import Path

import typer

from opsdesk.cli.common import console, fail
from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.channels import Channel

OPTION_OF_FIELD = {
    "channel": "--channel",
    "aht_seconds": "--aht",
    "interval_seconds": "--interval",
    "service_level": "--service-level",
    "answer_within_seconds": "--answer-within",
    "asa_seconds": "--asa",
    "shrinkage": "--shrinkage",
    "max_occupancy": "--max-occupancy",
    "patience_seconds": "--patience",
    "concurrency": "--concurrency",
}


def staff(
    forecast: Path = typer.Argument(
        ..., help="CSV with timestamp and forecast (or volume) columns, optionally channel."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the staffing CSV."),
    channel: Channel = typer.Option(
        Channel.PHONE,
        help="phone: Erlang C (Erlang A with --patience); chat: Erlang C on AHT / --concurrency; "
        "email, social: workload carried within the --answer-within response time.",
    ),
    aht: float = typer.Option(..., help="Average handle time in seconds (talk + hold + wrap)."),
    service_level: float = typer.Option(0.8, help="Share of contacts to answer within --answer-within."),
    answer_within: float = typer.Option(
        20, help="Service-level threshold in seconds; for email and social, the response-time target."
    ),
    asa: float = typer.Option(None, help="Also keep the average speed of answer at most this (seconds)."),
    shrinkage: float = typer.Option(0.0, help="Share of paid time not available for contacts, below 1."),
    max_occupancy: float = typer.Option(1.0, help="Highest share of available time spent handling, (0, 1]."),
    patience: float = typer.Option(None, help="Mean caller patience in seconds: use Erlang A (abandonment)."),
    concurrency: int = typer.Option(None, help="Chat sessions an agent handles at once."),
    interval: str = typer.Option(None, help="Interval length (15min, 1h, 900) when the file cannot show it."),
) -> None:
    """Agents needed per interval (before and after shrinkage) to meet the service targets."""
    import numpy as np

    from opsdesk.workforce.intervals import parse_interval, read_interval_volumes
    from opsdesk.workforce.staffing import StaffingTargets, staff_intervals

    try:
        interval_seconds = None if interval is None else parse_interval(interval)
    except ValidationFailed as exc:
        raise fail(f"--interval: {exc.message}") from None
    try:
        volumes = read_interval_volumes(
            forecast, channel=channel.value, interval_seconds=interval_seconds, contiguous=channel.deferred
        )
    except ValidationFailed as exc:
        raise fail(exc.message) from None
    try:
        targets = StaffingTargets(
            channel=channel,
            aht_seconds=aht,
            interval_seconds=volumes.interval_seconds,
            service_level=service_level,
            answer_within_seconds=answer_within,
            asa_seconds=asa,
            shrinkage=shrinkage,
            max_occupancy=max_occupancy,
            patience_seconds=patience,
            concurrency=1 if concurrency is None else concurrency,
        )
        plan = staff_intervals({"timestamp": volumes.timestamps, "volume": volumes.volume}, targets)
    except ValidationFailed as exc:
        option = OPTION_OF_FIELD.get(exc.field or "", exc.field or forecast.name)
        raise fail(f"{option}: {exc.message}") from None
    plan["timestamp"] = volumes.labels
    try:
        plan.to_csv(output, index=False, float_format="%.6g")
    except OSError as exc:
        raise fail(f"{output}: cannot write ({exc.strerror})") from None
    agents = plan["agents"].to_numpy()
    hours = float(np.sum(plan["scheduled_agents"].to_numpy())) * volumes.interval_seconds / 3600
    console.print(
        f"wrote {len(plan)} intervals to {output}: peak {int(agents.max())} agents, "
        f"{hours:,.1f} scheduled agent-hours"
    )


def register(app: typer.Typer) -> None:
    app.command()(staff)
