"""Mounts the pages, their static files and their HTML error pages on the application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from opsdesk.web.ui import (
    account_edit_pages,
    admin_pages,
    audit_page,
    auth,
    automation_pages,
    dashboards,
    home,
    insights_pages,
    intraday_pages,
    lifecycle_pages,
    notifications_pages,
    planner,
    planner_scenarios,
    playbook_editor_pages,
    portal,
    preferences,
    quality_pages,
    report_pages,
    routing_pages,
    schedule_pages,
    success_pages,
    success_voice_pages,
    success_work_pages,
    surveys,
    swap_pages,
    ticket_pages,
    view_pages,
    webhook_pages,
)
from opsdesk.web.ui.render import HERE, page


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (
        auth,
        home,
        ticket_pages,
        portal,
        planner,
        planner_scenarios,
        intraday_pages,
        lifecycle_pages,  # before success_pages: /customers/lifecycle is not an account id
        account_edit_pages,  # nor are /customers/new and /customers/segments
        success_pages,
        success_work_pages,
        playbook_editor_pages,
        success_voice_pages,
        quality_pages,
        preferences,
        audit_page,
        admin_pages,
        automation_pages,
        insights_pages,
        surveys,
        notifications_pages,
        routing_pages,
        dashboards,
        view_pages,
        webhook_pages,
        schedule_pages,
        swap_pages,
        report_pages,
    ):
        app.include_router(module.router)
    app.state.html_error = html_error

    @app.exception_handler(auth.SignInRequired)
    async def _signin(request: Request, _exc: auth.SignInRequired) -> Response:
        return auth.signin_redirect(request)

    @app.exception_handler(auth.PortalOnly)
    async def _portal(_request: Request, _exc: auth.PortalOnly) -> Response:
        return RedirectResponse("/portal", status_code=303)


def html_error(request: Request, status_code: int, message: str) -> Response:
    """The error page a person sees instead of a JSON error body; shown without the signed-in
    user's menu, since an error may come before (or from) signing in."""
    titles = {
        400: "Check the address",
        404: "Not found",
        403: "Not allowed",
        409: "Not possible now",
        413: "Too large",
        422: "Check your input",
        429: "Too many attempts",
    }
    return page(
        request,
        "error.html",
        None,
        status_code=status_code,
        title=titles.get(status_code, "Error"),
        message=message,
    )
