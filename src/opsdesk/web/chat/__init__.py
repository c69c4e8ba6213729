"""Live chat on the web: the WebSocket endpoints, the fan-out between processes, the widget, the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from opsdesk.core.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    from opsdesk.web.chat import console, sockets, widget

    app.include_router(widget.router)
    app.include_router(sockets.router)
    app.include_router(console.router)
    app.add_middleware(widget.WidgetCors, settings=settings)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Chat's fan-out connects on first use; it lets go of Redis or PostgreSQL when the server stops."""
    from opsdesk.web.chat.hub import close_hub

    yield
    await close_hub(app.state)
