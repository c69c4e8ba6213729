"""The signed-in user's own preferences: for now, the zone their pages show times in."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import actions as core_actions
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")


@router.get("/preferences")
def preferences(request: Request, user: PageUser) -> Response:
    return page(request, "preferences.html", user, zone_names=zone_names())


@router.post("/preferences")
def save_preferences(
    user: FormUser, session: SessionDep, clock: ClockDep, timezone: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    core_actions.set_timezone(session, user=user, timezone=timezone or None, clock=clock)
    session.commit()
    return RedirectResponse("/preferences", status_code=303)
