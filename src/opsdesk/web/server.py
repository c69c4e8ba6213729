"""`opsdesk serve`: the web application, and the in-process background work of the embedded mode."""

from __future__ import annotations

import uvicorn

from opsdesk.web.app import create_app


def run(*, host: str, port: int, smtp_port: int | None, workers: int) -> None:
    app = create_app()
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
