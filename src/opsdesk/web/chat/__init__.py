"""Live chat on the web: the WebSocket endpoints, the fan-out between processes, the widget, the console."""

from __future__ import annotations

from fastapi import FastAPI

from opsdesk.core.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    from opsdesk.web.chat import console, sockets, widget

    app.include_router(widget.router)
    app.include_router(sockets.router)
    app.include_router(console.router)
    app.add_middleware(widget.WidgetCors, settings=settings)
