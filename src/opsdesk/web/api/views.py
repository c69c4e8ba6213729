"""/api/v1/views (saved ticket views with their counts) and /api/v1/tickets/bulk."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opsdesk.desk import access
from opsdesk.desk.access import TicketOp
from opsdesk.desk.bulk import apply_bulk
from opsdesk.desk.views import actions, queries
from opsdesk.desk.views.bulk_input import actions_from
from opsdesk.desk.views.schemas import BulkIn, BulkOut, ViewIn, ViewOut
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["views"])


@router.get("/views", response_model=list[ViewOut])
def list_views(
    user: CurrentUser, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> list[ViewOut]:
    """Your views and the team's shared ones, each with how many tickets it holds for you."""
    access.require(user, TicketOp.LIST)
    counted = queries.counted_views(
        session, user=user, clock=clock, breaching_soon_minutes=settings.breaching_soon_minutes
    )
    return [ViewOut.of(c.view, c.count) for c in counted]


@router.post("/views", status_code=201, response_model=ViewOut)
def save_view(body: ViewIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> ViewOut:
    """Save a view (replacing your own of the same name); ``shared`` needs a support lead or admin."""
    view = actions.save_view(
        session,
        owner=user,
        clock=clock,
        name=body.name,
        filters=body.filters,
        sort=body.sort,
        shared=body.shared,
    )
    session.commit()
    return ViewOut.of(view)


@router.delete("/views/{view_id}", status_code=204)
def delete_view(view_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> Response:
    actions.delete_view(session, view=queries.view_for(session, view_id, user), actor=user, clock=clock)
    session.commit()
    return Response(status_code=204)


@router.post("/tickets/bulk", response_model=BulkOut)
def bulk(body: BulkIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> BulkOut:
    """Apply the actions, in order, to each selected ticket (at most 1,000) in one transaction; each
    change is an event. Tickets you may not see are reported as not found and left alone, as are those
    an action cannot apply to, with the reason."""
    result = apply_bulk(
        session,
        actor=user,
        ticket_ids=body.ticket_ids,
        bulk_actions=actions_from(session, body.actions),
        clock=clock,
    )
    session.commit()
    return BulkOut(applied=result.applied, skipped=result.skipped)
