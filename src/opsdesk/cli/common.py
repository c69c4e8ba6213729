"""Helpers shared by the command modules: the database, the clock, clean errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from opsdesk.core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

console = Console()
err_console = Console(stderr=True)
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
