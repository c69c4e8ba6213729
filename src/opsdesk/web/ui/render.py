"""The template environment and the page-rendering helper shared by every page module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from opsdesk.core.models import User
from opsdesk.desk.schemas import MAX_ID
from opsdesk.web.ui import zones

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
# A record's id in a page's path: out of range is a page that does not exist (a 404 page), never a 500.
PageId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return ""
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"


templates.env.filters["when"] = zones.when
templates.env.filters["duration"] = _duration


def page(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    csrf = getattr(request.state, "csrf_token", "")
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE))
    return templates.TemplateResponse(
        request, name, {"user": user, "csrf_token": csrf, "zone": zone, **context}, status_code=status_code
    )
