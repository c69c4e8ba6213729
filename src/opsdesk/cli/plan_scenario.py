"""`opsdesk plan scenario ...`: planning scenarios (customer growth -> hires) from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from opsdesk.cli.common import clock, console, fail, unit_of_work
from opsdesk.core.errors import ValidationFailed

app = typer.Typer(help="Planning scenarios: the chain from customer growth to hires; copy, change, compare.")

SET_HELP = (
    "An assumption to change, as dotted.key=value (the value read as YAML), e.g. "
    "channels.phone.aht_seconds=300 or growth.extra_monthly_growth_pct=2; repeatable."
)


def parse_sets(sets: list[str]) -> dict[str, Any]:
    """['a.b=1', 'a.c=x'] -> {'a': {'b': 1, 'c': 'x'}}; a malformed item is named."""
    import yaml

    changes: dict[str, Any] = {}
    for item in sets:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise fail(f"--set {item!r}: expected dotted.key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise fail(f"--set {item!r}: the value is not valid YAML") from None
        node = changes
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise fail(f"--set {item!r}: {part} is set to a value already")
        node[parts[-1]] = value
    return changes


def _report(scenario: Any) -> None:
    summary = scenario.summary
    covered = "-" if summary["schedule_covered_pct"] is None else summary["schedule_covered_pct"]
    console.print(
        f"scenario #{scenario.id} {scenario.name!r}: computed in {scenario.build_ms / 1000:.1f} s; "
        f"{summary['total_hires']} hires, cost {summary['total_cost_cents'] / 100:,.0f} over "
        f"{len(summary['months'])} months; first week scheduled {covered}% covered"
    )
    for note in summary["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    queues = scenario.chain["requirement"].get("language_queues")
    if queues and queues["first_month"]:
        from opsdesk.workforce.chain.compare import part_label

        own = [part_label(d) for d in queues["first_month"] if d["queue"] == "own"]
        console.print(
            f"language queues (own from {queues['min_own_queue_occupancy']:.0%} occupancy), first month: "
            f"own {', '.join(own) or 'none'}; the others pooled with their skill's largest language"
        )
    console.print("month    lives     req h/wk  need FTE  headcount  hires  cost")
    for m, month in enumerate(summary["months"]):
        console.print(
            f"{month}  {summary['lives'][m]:>8,.0f}  {summary['requirement_hours'][m]:>8,.0f}  "
            f"{summary['need_fte'][m]:>8.1f}  {summary['headcount'][m]:>9.1f}  {summary['hires'][m]:>5}  "
            f"{summary['cost_cents'][m] / 100:>12,.0f}"
        )


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="The scenario's name."),
    assumptions: Path = typer.Option(
        None, "--assumptions", help="ASSUMPTIONS.yaml (see `default-assumptions`); default: the demo's."
    ),
) -> None:
    """Compute the chain for a new scenario and store it."""
    from opsdesk.workforce.chain.assumptions import default_assumptions
    from opsdesk.workforce.scenarios import create_scenario
    from opsdesk.workforce.sites import read_yaml

    data = default_assumptions(clock.now())
    if assumptions is not None:
        try:
            data = read_yaml(assumptions)
        except ValidationFailed as exc:
            raise fail(f"{assumptions.name}: {exc.message}") from None
    with unit_of_work() as session:
        scenario = create_scenario(session, name=name, assumptions=data, clock=clock, actor=None)
        _report(scenario)


@app.command("copy")
def copy(
    scenario_id: int = typer.Argument(..., min=1, help="The scenario to copy."),
    name: str = typer.Option(..., "--name", help="The copy's name."),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Copy a scenario with changed assumptions; the copy's whole chain is recomputed."""
    from opsdesk.workforce import queries
    from opsdesk.workforce.scenarios import copy_scenario

    changes = parse_sets(sets)
    with unit_of_work() as session:
        source = queries.scenario_by_id(session, scenario_id)
        scenario = copy_scenario(session, source=source, name=name, changes=changes, clock=clock, actor=None)
        _report(scenario)


@app.command("change")
def change(
    scenario_id: int = typer.Argument(..., min=1),
    sets: list[str] = typer.Option(..., "--set", help=SET_HELP),
) -> None:
    """Change a scenario's assumptions and recompute everything downstream."""
    from opsdesk.workforce import queries
    from opsdesk.workforce.scenarios import change_assumptions

    changes = parse_sets(sets)
    with unit_of_work() as session:
        scenario = queries.scenario_by_id(session, scenario_id)
        change_assumptions(session, scenario=scenario, changes=changes, clock=clock, actor=None)
        _report(scenario)


@app.command("show")
def show(scenario_id: int = typer.Argument(..., min=1)) -> None:
    """A stored scenario's months: lives, requirement, need, headcount, hires and cost."""
    from opsdesk.workforce import queries

    with unit_of_work() as session:
        _report(queries.scenario_by_id(session, scenario_id))


@app.command("list")
def list_() -> None:
    """Stored scenarios, newest first."""
    from opsdesk.workforce import queries

    with unit_of_work() as session:
        for s in queries.list_scenarios(session):
            origin = f" (copy of #{s.copied_from_id})" if s.copied_from_id else ""
            console.print(f"#{s.id} {s.name}{origin}: {s.summary['total_hires']} hires")


@app.command("compare")
def compare_(
    scenario_ids: list[int] = typer.Argument(..., min=1, help="Scenario ids; the first is the baseline."),
) -> None:
    """Scenarios side by side per month: requirement, hires and cost, and the schedule's coverage."""
    from opsdesk.workforce import queries
    from opsdesk.workforce.chain.compare import compare

    if len(scenario_ids) > 6:
        raise fail("compare at most 6 scenarios")
    with unit_of_work() as session:
        chosen = [queries.scenario_by_id(session, i) for i in scenario_ids]
        table = compare([(s.id, s.name, s.summary) for s in chosen])
    names = [f"#{s['id']} {s['name']}" for s in table["scenarios"]]
    console.print("scenarios: " + " | ".join(names))
    console.print(
        "schedule coverage (first week): " + " | ".join(f"{s['covered_pct']}%" for s in table["scenarios"])
    )
    for measure in table["measures"]:
        if measure["key"] not in ("requirement_hours", "hires", "cost_cents"):
            continue
        console.print(f"\n{measure['label']}")
        for row in measure["rows"]:
            values = [
                "-" if v is None else (f"{v / 100:,.0f}" if measure["key"] == "cost_cents" else f"{v:,.0f}")
                for v in row["values"]
            ]
            console.print(f"  {row['month']}  " + " | ".join(values))


@app.command("default-assumptions")
def default_assumptions_() -> None:
    """Print the demo organisation's assumptions as YAML, to copy and edit."""
    import yaml

    from opsdesk.workforce.chain.assumptions import default_assumptions

    typer.echo(yaml.safe_dump(default_assumptions(clock.now()), sort_keys=False), nl=False)
