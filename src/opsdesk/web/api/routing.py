"""/api/v1/routing: presence, the routing configuration (settings, languages, skills, groups, agents'
profiles and capacities, site hours) piece by piece or as one document, and the hand-over report."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from opsdesk.core import permissions
from opsdesk.core.errors import PermissionDenied
from opsdesk.core.models import User
from opsdesk.core.queries import get_or_not_found
from opsdesk.desk.routing import admin, queries
from opsdesk.desk.routing.presence import heartbeat, set_presence
from opsdesk.desk.routing.schemas import (
    AgentIn,
    GroupIn,
    LanguageIn,
    PresenceIn,
    PresenceOut,
    RoutingConfig,
    SettingsIn,
    ShiftsIn,
    SiteIn,
    SkillIn,
)
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["routing"])
SkillPath = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[\w:.\-/]+$")]


def _require_staff(user: User) -> None:
    if not user.active or not user.is_staff:
        raise PermissionDenied("only staff may see routing")


def _manage(user: User) -> None:
    permissions.require(user, permissions.ROUTING_MANAGE)


@router.get("/routing/presence", response_model=list[PresenceOut])
def presence_board(user: CurrentUser, session: SessionDep) -> list[PresenceOut]:
    _require_staff(user)
    return [
        PresenceOut(
            user_id=row.user.id,
            name=row.user.name,
            status=row.presence.status,
            on_call=row.presence.on_call,
            in_chats=row.presence.in_chats,
            capacity=row.capacity,
            load=row.load,
        )
        for row in queries.presence_board(session)
    ]


@router.put("/routing/presence/{user_id}", status_code=204)
def put_presence(
    user_id: PathId, body: PresenceIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Response:
    """An agent sets their own status; a lead or admin may set anyone's."""
    if user_id != user.id:
        _manage(user)
    agent = get_or_not_found(session, User, user_id, "user", field="user_id")
    set_presence(
        session,
        agent=agent,
        status=body.status,
        on_call=body.on_call,
        in_chats=body.in_chats,
        clock=clock,
        actor=user,
    )
    session.commit()
    return Response(status_code=204)


@router.post("/routing/presence/me/heartbeat", status_code=204)
def post_heartbeat(user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    """Keeps an online agent from being turned away while a page or client of theirs is open."""
    _require_staff(user)
    heartbeat(session, agent=user, clock=clock)
    session.commit()
    return Response(status_code=204)


@router.get("/routing/config", response_model=RoutingConfig)
def get_config(user: CurrentUser, session: SessionDep) -> RoutingConfig:
    _require_staff(user)
    return admin.export_config(session)


@router.put("/routing/config")
def put_config(
    body: RoutingConfig, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> dict[str, int]:
    """Apply a whole document (what `opsdesk routing import` sends); entries it does not name are kept."""
    _manage(user)
    summary = admin.import_config(session, config=body, clock=clock, actor=user)
    session.commit()
    return summary


@router.put("/routing/settings", response_model=SettingsIn)
def put_settings(body: SettingsIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SettingsIn:
    _manage(user)
    admin.save_settings(session, body=body, clock=clock, actor=user)
    session.commit()
    saved = admin.export_config(session).settings
    assert saved is not None  # just saved
    return saved


@router.put("/routing/languages", response_model=LanguageIn)
def put_language(body: LanguageIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> LanguageIn:
    _manage(user)
    admin.save_language(session, body=body, clock=clock, actor=user)
    session.commit()
    return body


@router.put("/routing/skills", response_model=SkillIn)
def put_skill(body: SkillIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SkillIn:
    _manage(user)
    row = admin.save_skill(session, body=body, clock=clock, actor=user)
    session.commit()
    return SkillIn(name=row.name, match_tags=row.match_tags, description=row.description)


@router.delete("/routing/skills/{name}", status_code=204)
def delete_skill(name: SkillPath, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    _manage(user)
    admin.delete_skill(session, name=name, clock=clock, actor=user)
    session.commit()
    return Response(status_code=204)


@router.put("/routing/groups", response_model=GroupIn)
def put_group(body: GroupIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> GroupIn:
    _manage(user)
    admin.save_group(session, body=body, clock=clock, actor=user)
    session.commit()
    return next(g for g in admin.export_config(session).groups if g.name == body.name)


@router.put("/routing/agents", response_model=AgentIn)
def put_agent(body: AgentIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> AgentIn:
    """An agent's languages, skills and capacity per channel."""
    _manage(user)
    admin.save_agent(session, body=body, clock=clock, actor=user)
    session.commit()
    return next(a for a in admin.export_config(session).agents if a.email == body.email.strip().lower())


@router.put("/routing/sites", response_model=SiteIn)
def put_site(body: SiteIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> SiteIn:
    _manage(user)
    admin.save_site(session, body=body, clock=clock, actor=user)
    session.commit()
    return body


@router.put("/routing/agents/{user_id}/shifts")
def put_shifts(
    user_id: PathId, body: ShiftsIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> dict[str, int]:
    """Publish an agent's shifts for a period: while they have shifts near now, those decide when they
    are on shift instead of their site's hours."""
    _manage(user)
    agent = get_or_not_found(session, User, user_id, "user", field="user_id")
    rows = admin.publish_shifts(session, agent=agent, body=body, clock=clock, actor=user)
    session.commit()
    return {"shifts": len(rows)}


@router.get("/routing/handovers")
def get_handovers(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="How far back, in hours")] = 24,
) -> list[dict[str, Any]]:
    """Per site: what it handed over in the window and what of that is still open."""
    _require_staff(user)
    report = queries.handovers_since(session, clock.now() - timedelta(hours=hours))
    return [
        {
            "site": entry.site.name,
            "handed_over": len(entry.handed),
            "still_open": [
                {
                    "ticket": t.id,
                    "status": t.status.value,
                    "to_site_id": h.to_site_id,
                    "at": h.at,
                    "note": h.note,
                }
                for h, t in entry.still_open
            ],
            "solved_since": entry.solved,
        }
        for entry in report
    ]
