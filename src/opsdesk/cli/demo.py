"""`opsdesk demo`: load the demo organisation."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from opsdesk.cli.common import clock, console


class LineProgress(Progress):
    """Progress for a log or a pipe, where a live bar would print nothing until the end: one line as each
    stage starts and at each tenth of it."""

    def __init__(self, console: Console) -> None:
        super().__init__(console=console, disable=True)
        self._tenths: dict[TaskID, int] = {}

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> TaskID:
        task_id = super().add_task(description, *args, **kwargs)
        self._tenths[task_id] = 0
        self.console.print(f"{description}: started", highlight=False)
        return task_id

    def update(self, task_id: TaskID, *args: Any, **kwargs: Any) -> None:
        super().update(task_id, *args, **kwargs)
        self._report(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._report(task_id)

    def _report(self, task_id: TaskID) -> None:
        task = self._tasks[task_id]
        tenth = int(task.percentage // 10)
        if tenth > self._tenths[task_id]:
            self._tenths[task_id] = tenth
            done = f"{task.completed:,.0f}/{task.total:,.0f}" if task.total else f"{task.completed:,.0f}"
            self.console.print(f"{task.description}: {done} ({task.percentage:.0f}%)", highlight=False)


def demo(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when the database already has users."
    ),
    organisations: int = typer.Option(20_000, help="Customer organisations to create."),
    tickets_per_day: int = typer.Option(800, help="Average tickets per day over the six months."),
) -> None:
    """Load a realistic demo organisation with six months of history."""
    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.settings import get_settings
    from opsdesk.demo.loader import database_is_empty, load_demo
    from opsdesk.demo.people import DEMO_DOMAIN, DEMO_PASSWORD, DEMO_REQUESTER

    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    with factory() as session:
        empty = database_is_empty(session)
    if not empty:
        if if_empty:
            console.print("the database already has data: demo not loaded again")
            return
        console.print(
            "[yellow]the database already has data; adding a second demo organisation is refused[/]"
        )
        raise typer.Exit(2)
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ]
    live = console.is_terminal
    with Progress(*columns, console=console) if live else LineProgress(console) as progress:
        counts = load_demo(
            factory,
            clock=clock,
            organisations=organisations,
            tickets_per_day=tickets_per_day,
            progress=progress,
            settings=get_settings(),
        )
    console.print(", ".join(f"{v:,} {k}" for k, v in counts.items()))
    _precompute_dashboards(factory)
    console.print(
        f"sign in at http://127.0.0.1:{get_settings().port} as admin@{DEMO_DOMAIN}, lead@{DEMO_DOMAIN} or any"
        f" account listed in the README (customers: {DEMO_REQUESTER} at /portal); password {DEMO_PASSWORD}"
    )


def _precompute_dashboards(factory: Any) -> None:
    """The dashboards' default views, computed now and stored, so the first reader does not wait for
    the KPI engine to read six months of events (the snapshot job keeps them current afterwards)."""
    import time

    from opsdesk.insights.dashboards.snapshots import refresh

    started = time.perf_counter()
    console.print("dashboards: computing the default views")
    try:
        boards = refresh(factory, clock.now())
    except Exception as exc:  # the demo is loaded either way; the snapshot job computes them on start
        console.print(
            f"[yellow]dashboards: not computed now ({type(exc).__name__}: {exc}); `opsdesk serve` will[/]"
        )
        return
    console.print(f"dashboards: {', '.join(boards)} ready in {time.perf_counter() - started:.0f} s")


def register(app: typer.Typer) -> None:
    app.command()(demo)
