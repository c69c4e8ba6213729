"""The application factory. Tests build it on their own engine and clock; `opsdesk serve` on the settings."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from opsdesk import __version__
from opsdesk.core.clock import Clock, SystemClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.settings import Settings, get_settings
from opsdesk.web.api import (
    access,
    channels,
    insights,
    kpi_targets,
    quality,
    report_schedule,
    sla,
    success_accounts,
    success_health,
    success_lifecycle,
    success_nps,
    success_pipeline,
    success_retention,
    success_voice,
    success_voice_export,
    success_work,
    surveys,
    ticket_email,
    tickets,
    users,
    views,
    webhooks,
    workforce,
)
from opsdesk.web.api.audit import router as audit_router
from opsdesk.web.api.automation import router as automation_router
from opsdesk.web.api.notifications import router as notifications_router
from opsdesk.web.api.roster import router as roster_router
from opsdesk.web.api.routing import router as routing_router
from opsdesk.web.api.shift_swaps import router as shift_swaps_router
from opsdesk.web.api.time_off import router as time_off_router
from opsdesk.web.api_docs import install_api_docs
from opsdesk.web.chat import install as install_chat
from opsdesk.web.chat import lifespan as chat_lifespan
from opsdesk.web.connection_gate import RETRY_AFTER_SECONDS, ConnectionGate, DatabaseBusy
from opsdesk.web.deps import Unauthenticated
from opsdesk.web.errors import error_body, install_error_handlers
from opsdesk.web.load_shedding import LoadShedding
from opsdesk.web.openapi import install_openapi
from opsdesk.web.security_headers import SecurityHeaders
from opsdesk.web.ui import pages

OPENAPI_URL = "/api/v1/openapi.json"
DOCS_URL = "/api/v1/docs"

# Every URL's home: one router module per domain under /api/v1, and the pages.
API_ROUTERS = [
    tickets.router,
    ticket_email.router,
    channels.router,
    sla.router,
    users.router,
    access.router,
    workforce.router,
    quality.router,
    success_health.router,
    success_voice_export.router,  # before success_voice: /feedback/{request_id}
    success_work.router,
    success_voice.router,
    success_pipeline.router,
    success_retention.router,
    success_accounts.router,
    success_lifecycle.router,
    insights.router,
    success_nps.router,
    surveys.router,
    audit_router,
    notifications_router,
    routing_router,
    roster_router,
    views.router,
    webhooks.router,
    automation_router,
    time_off_router,
    shift_swaps_router,
    kpi_targets.router,
    report_schedule.router,
]


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url())
    app = FastAPI(
        title="OpsDesk",
        version=__version__,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=chat_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    # Short request work runs on the event loop on PostgreSQL (see web.deps.run_as_user).
    app.state.inline_short_work = engine.dialect.name == "postgresql"
    app.state.connection_gate = ConnectionGate.for_engine(engine, settings.db_wait_seconds)
    app.add_middleware(
        LoadShedding, target_seconds=settings.shed_lag_seconds, active=settings.active_requests
    )
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return JSONResponse(error_body("unauthenticated", exc.message), status_code=401)

    @app.exception_handler(DatabaseBusy)
    async def _busy(request: Request, exc: DatabaseBusy) -> JSONResponse:
        return JSONResponse(
            error_body("unavailable", exc.message),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    install_openapi(app)
    install_api_docs(app, docs_url=DOCS_URL, openapi_url=OPENAPI_URL)
    pages.install(app)
    install_chat(app, settings)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
