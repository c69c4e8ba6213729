"""The application factory. Tests build it on their own engine and clock; `opsdesk serve` on the settings."""

from __future__ import annotations

import importlib
import importlib.util

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from opsdesk import __version__
from opsdesk.core.clock import Clock, SystemClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.settings import Settings, get_settings
from opsdesk.web.deps import Unauthenticated
from opsdesk.web.errors import error_body, install_error_handlers

# Routers are listed here so a reader finds every URL's home; each module exposes `router`.
API_ROUTER_MODULES = [
    "opsdesk.web.api.tickets",
    "opsdesk.web.api.sla",
    "opsdesk.web.api.users",
    "opsdesk.web.api.workforce",
    "opsdesk.web.api.success",
    "opsdesk.web.api.success_health",
    "opsdesk.web.api.success_work",
    "opsdesk.web.api.success_pipeline",
    "opsdesk.web.api.insights",
]
UI_ROUTER_MODULES = ["opsdesk.web.ui.pages"]


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url())
    app = FastAPI(
        title="OpsDesk",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    install_error_handlers(app)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return JSONResponse(error_body("unauthenticated", exc.message), status_code=401)

    for name in API_ROUTER_MODULES:
        if importlib.util.find_spec(name) is not None:
            app.include_router(importlib.import_module(name).router, prefix="/api/v1")
    for name in UI_ROUTER_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
