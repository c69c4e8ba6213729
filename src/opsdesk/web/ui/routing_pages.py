"""Routing pages: presence (each agent sets theirs; the board shows everyone's status, load and
capacity), the routing admin (settings, and the whole configuration as YAML), and the follow-the-sun
hand-over report per site."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import permissions
from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.routing import admin, queries
from opsdesk.desk.routing.config_yaml import MAX_YAML, dump_config_yaml, parse_config_yaml
from opsdesk.desk.routing.models import PresenceStatus
from opsdesk.desk.routing.presence import set_presence
from opsdesk.desk.routing.router import Choice
from opsdesk.desk.routing.schemas import Capacity, SettingsIn
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
Slots = Annotated[int, Form(ge=0, le=100)]
NEXT_PAGES = ("/routing", "/chat")


@router.get("/routing")
def presence_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    board = queries.presence_board(session)
    mine = next((row.presence for row in board if row.user.id == user.id), None)
    return page(request, "routing/presence.html", user, board=board, mine=mine, statuses=list(PresenceStatus))


@router.post("/routing/presence")
def post_presence(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    status: Annotated[PresenceStatus, Form()],
    on_call: Annotated[bool, Form()] = False,
    in_chats: Annotated[bool, Form()] = False,
    next: Annotated[str, Form(max_length=20)] = "/routing",
) -> Response:
    set_presence(
        session, agent=user, status=status, on_call=on_call, in_chats=in_chats, clock=clock, actor=user
    )
    session.commit()
    return RedirectResponse(next if next in NEXT_PAGES else "/routing", status_code=303)


@router.get("/admin/routing")
def admin_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    config = admin.export_config(session)
    return page(
        request,
        "routing/admin.html",
        user,
        config=config,
        yaml_text=dump_config_yaml(config),
        choices=list(Choice),
    )


@router.post("/admin/routing/settings")
def post_settings(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    choice: Annotated[Choice, Form()],
    auto_away_seconds: Annotated[int, Form(ge=30, le=24 * 3600)],
    chat: Slots,
    call: Slots,
    ticket: Slots,
    enabled: Annotated[bool, Form()] = False,
    skill_timeout_seconds: Annotated[str, Form(max_length=10)] = "",
    default_language: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    timeout = skill_timeout_seconds.strip()
    if timeout and not timeout.isdigit():
        raise ValidationFailed(
            "the skill time-out is a number of seconds, or empty for never", field="skill_timeout_seconds"
        )
    body = SettingsIn(
        enabled=enabled,
        choice=choice,
        skill_timeout_seconds=int(timeout) if timeout else None,
        auto_away_seconds=auto_away_seconds,
        default_capacity=Capacity(chat=chat, call=call, ticket=ticket),
        default_language=default_language.strip() or None,
    )
    admin.save_settings(session, body=body, clock=clock, actor=user)
    session.commit()
    return RedirectResponse("/admin/routing", status_code=303)


@router.post("/admin/routing/import")
def post_import(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    yaml_text: Annotated[str, Form(max_length=MAX_YAML)],
) -> Response:
    permissions.require(user, permissions.ROUTING_MANAGE)
    admin.import_config(session, config=parse_config_yaml(yaml_text), clock=clock, actor=user)
    session.commit()
    return RedirectResponse("/admin/routing", status_code=303)


@router.get("/routing/handovers")
def handovers_page(request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep) -> Response:
    report = queries.handovers_since(session, clock.now() - timedelta(hours=24))
    return page(request, "routing/handovers.html", user, report=report)
