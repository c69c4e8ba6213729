"""Helpers shared by the command modules: the database, the clock, clean errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from opsdesk.core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Piped into a file or another tool, Rich would assume 80 columns and cut tables; there is no screen to
# fit then, so lines are as long as their content (COLUMNS still wins when set).
PIPE_WIDTH = 1000


def _console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


console = _console()
err_console = _console(stderr=True)
clock = SystemClock()


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A committed transaction on the configured database; domain errors become clean CLI errors."""
    from opsdesk.core.database import make_engine, make_session_factory, transaction
    from opsdesk.core.errors import OpsDeskError
    from opsdesk.core.settings import get_settings

    factory = make_session_factory(make_engine(get_settings().resolved_database_url()))
    try:
        with transaction(factory) as session:
            yield session
    except OpsDeskError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise fail(f"{exc.message}{where}") from None
