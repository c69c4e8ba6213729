"""Mounts the pages, their static files and their HTML error pages on the application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from opsdesk.core.errors import OpsDeskError
from opsdesk.web.ui import auth, home, planner, portal, success_pages, ticket_pages
from opsdesk.web.ui.render import HERE, page


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (auth, home, ticket_pages, portal, planner, success_pages):
        app.include_router(module.router)
    app.state.html_error = html_error

    @app.exception_handler(auth.SignInRequired)
    async def _signin(request: Request, _exc: auth.SignInRequired) -> Response:
        return auth.signin_redirect(request)


def html_error(request: Request, exc: OpsDeskError, status_code: int) -> Response:
    titles = {
        400: "Check your input",
        404: "Not found",
        403: "Not allowed",
        409: "Not possible now",
        413: "Too large",
        422: "Check your input",
    }
    return page(
        request,
        "error.html",
        None,
        status_code=status_code,
        title=titles.get(status_code, "Error"),
        message=exc.message,
    )
