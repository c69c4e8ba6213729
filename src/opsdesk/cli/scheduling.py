"""`opsdesk schedule` (shifts for a week of staffing requirement) and `opsdesk hire` (hiring plan)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from opsdesk.cli.common import console, err_console, fail
from opsdesk.core.errors import ValidationFailed

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.workforce.scheduling import SiteSchedule


def _named(path: Path, exc: ValidationFailed) -> typer.Exit:
    """A clean error naming the file and, for YAML, the key path."""
    where = (
        f"{path.name}: {exc.field}: "
        if exc.field
        else ("" if exc.message.startswith(path.name) else f"{path.name}: ")
    )
    return fail(f"{where}{exc.message}")


def _write(frame: pd.DataFrame, path: Path) -> None:
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise fail(f"{path}: cannot write ({exc.strerror})") from None


def schedule(
    staff: Path = typer.Argument(..., help="Staffing CSV from `opsdesk staff` (scheduled_agents is used)."),
    sites: Path = typer.Option(..., "--sites", help="SITES.yaml: sites, hours, teams, shifts, rules."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write one row per shift (CSV)."),
    coverage: Path = typer.Option(None, "--coverage", help="Also write coverage per interval and site."),
    time_limit: float = typer.Option(30.0, "--time-limit", min=1.0, help="Seconds for the whole solve."),
    under_weight: float = typer.Option(3.0, "--under-weight", min=0.0, help="Cost of a missing agent."),
    over_weight: float = typer.Option(1.0, "--over-weight", min=0.0, help="Cost of an idle agent."),
    workers: int = typer.Option(2, "--workers", min=1, help="CP-SAT search workers."),
    joint: bool = typer.Option(
        False,
        "--joint",
        help="Schedule all sites together against the whole requirement, so an open site with the skill "
        "and language covers another's shortfall (instead of splitting the requirement by site first).",
    ),
) -> None:
    """Assign shifts to each site's schedule lines to cover the requirement (CP-SAT, a week at a time)."""
    from opsdesk.workforce.scheduling import (
        Weights,
        coverage_table,
        parts_from_requirement,
        read_requirement,
        schedule_jointly,
        schedule_sites,
        shifts_table,
        split_by_site,
    )
    from opsdesk.workforce.sites import load_sites

    try:
        config = load_sites(sites)
    except ValidationFailed as exc:
        raise _named(sites, exc) from None
    try:
        requirement = read_requirement(staff, known_sites={site.name for site in config.sites})
    except ValidationFailed as exc:
        raise _named(staff, exc) from None
    horizon = requirement.horizon
    if not horizon.cyclic:
        err_console.print(
            f"[yellow]note:[/yellow] {staff.name} spans {horizon.periods * horizon.interval}, not one week: "
            "shifts are not wrapped around the horizon's ends"
        )
    weights = Weights(under=under_weight, over=over_weight)
    if joint:
        parts, required = parts_from_requirement(requirement, config)
        with err_console.status("scheduling all sites together"):
            together = schedule_jointly(
                config, parts, required, horizon, weights=weights, time_limit=time_limit, workers=workers
            )
        _write(shifts_table(together.sites, config), output)
        if coverage is not None:
            _write(coverage_table(together.sites, horizon, together.unserved_frame(horizon)), coverage)
        for result in together.sites:
            console.print(
                f"{result.site}: {len(result.shifts)} shifts, took {int(result.required.sum())} "
                f"required agent-intervals, over {int(result.over.sum())}"
            )
        console.print(
            f"all sites: under {int(together.under.sum())}, over {int(together.over.sum())} "
            f"agent-intervals ({together.status.lower()}); "
            f"wrote {sum(len(r.shifts) for r in together.sites)} shifts to {output}"
        )
        return
    split = split_by_site(requirement, config)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err_console
    ) as progress:
        task = progress.add_task("scheduling sites", total=len(config.sites))

        def done(result: SiteSchedule) -> None:
            progress.update(task, advance=1, description=f"scheduled {result.site}")

        results = schedule_sites(
            split,
            config,
            horizon,
            weights=weights,
            time_limit=time_limit,
            workers=workers,
            on_site_done=done,
        )
    _write(shifts_table(results, config), output)
    table = coverage_table(results, horizon, split.unserved)
    if coverage is not None:
        _write(table, coverage)
    for result in results:
        console.print(
            f"{result.site}: {len(result.shifts)} shifts, under {int(result.under.sum())}, "
            f"over {int(result.over.sum())} agent-intervals ({result.status.lower()})"
        )
    lost = int(split.unserved["required"].sum()) if len(split.unserved) else 0
    if lost:
        console.print(f"no open site could take {lost} agent-intervals (listed as under in the coverage)")
    console.print(f"wrote {sum(len(r.shifts) for r in results)} shifts to {output}")


def hire(
    plan: Path = typer.Argument(
        ..., help="PLAN.yaml: customers forecast, demand, FTE basis, sites (see examples)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the monthly plan (CSV)."),
) -> None:
    """Monthly hiring plan by site and skill: required and productive FTE, headcount, hires, requisitions."""
    from opsdesk.workforce.hiring import load_plan, plan_hiring

    try:
        table = plan_hiring(load_plan(plan))
    except ValidationFailed as exc:
        raise _named(plan, exc) from None
    _write(table, output)
    console.print(
        f"wrote {len(table)} rows to {output}: {int(table['hires_starting'].sum())} hires over "
        f"{table['month'].nunique()} months, lowest coverage {table['coverage_pct'].min():.1f}%"
    )


def register(app: typer.Typer) -> None:
    app.command()(schedule)
    app.command()(hire)
