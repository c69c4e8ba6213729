"""`opsdesk plan build`: a planning run (forecast, staffing, site schedule, hiring) from desk history.
`opsdesk plan scenario ...` lives in plan_scenario.py."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from opsdesk.cli.common import clock, console, err_console, fail, unit_of_work
from opsdesk.cli.plan_scenario import app as scenario_app
from opsdesk.core.errors import ValidationFailed

app = typer.Typer(help="Workforce plans: forecast, staffing, site schedule and hiring in one run.")
app.add_typer(scenario_app, name="scenario")

CONFIG_HELP = (
    "PLAN.yaml: interval_minutes, horizon_days, actual_days, backtest_days, schedule_time_limit_seconds, "
    "channels (per channel aht_seconds and targets), sites (as SITES.yaml) and hiring (as the hiring "
    "PLAN.yaml). Without it, the latest plan's configuration is reused (the demo's when there is none); "
    "`opsdesk plan default-config` prints one to start from."
)


@app.command("build")
def build(config: Path = typer.Option(None, "--config", help=CONFIG_HELP)) -> None:
    """Build and store a plan from the desk's ticket history up to now."""
    from opsdesk.workforce import actions
    from opsdesk.workforce.planning import parse_config, plan_steps
    from opsdesk.workforce.sites import read_yaml

    data = None
    if config is not None:
        try:
            data = read_yaml(config)
            parse_config(data)  # a bad file is named before any work starts
        except ValidationFailed as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise fail(f"{config.name}: {where}{exc.message}") from None
    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}")]
    with unit_of_work() as session:
        chosen = data if data is not None else actions.plan_config_for_rebuild(session, clock=clock)
        steps = plan_steps(parse_config(chosen)[0])
        with Progress(*columns, TimeElapsedColumn(), console=err_console) as progress:
            task = progress.add_task("forecasting", total=steps)

            def advance(done: str) -> None:
                progress.update(task, advance=1, description=done)

            run = actions.build_plan_run(
                session, created_by=None, clock=clock, config=chosen, progress=advance
            )
    totals = run.schedule["totals"]
    console.print(f"plan #{run.id} ({run.status.value}) built in {run.build_ms / 1000:.1f} s")
    for note in run.summary["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    for channel, data_ in run.forecast.items():
        wape = data_.get("backtest_wape_pct")
        error = f"back-test WAPE {wape}%" if wape is not None else "no back-test"
        console.print(f"{channel}: {error}; model {data_['model']}")
    covered = totals["covered_pct"]
    console.print(
        f"first week: {totals['required']:,} agent-intervals required, {totals['scheduled']:,} scheduled "
        f"in {totals['shifts']:,} shifts, under {totals['under']:,}, over {totals['over']:,}"
        + (f" ({covered}% covered)" if covered is not None else "")
    )
    console.print(
        f"hiring: {run.summary['hires']} hires over {len({r['month'] for r in run.hiring['rows']})} months"
    )


@app.command("default-config")
def default_config() -> None:
    """Print the demo organisation's plan configuration as YAML, to copy and edit."""
    import yaml

    from opsdesk.workforce.default_plan import default_plan

    typer.echo(yaml.safe_dump(default_plan(clock.now()), sort_keys=False), nl=False)  # unwrapped, valid YAML


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="plan")
