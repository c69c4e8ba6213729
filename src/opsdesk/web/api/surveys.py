"""/api/v1/tickets/{number}/satisfaction: a ticket's CSAT rating, read by whoever may read the ticket,
recorded by its requester (a portal or chat widget acting for them) or by an admin's integration."""

from __future__ import annotations

from fastapi import APIRouter

from opsdesk.core.errors import NotFound, PermissionDenied
from opsdesk.core.models import Role
from opsdesk.desk import access
from opsdesk.desk.surveys import actions, queries
from opsdesk.desk.surveys.scale import Scale, Via
from opsdesk.desk.surveys.schemas import SatisfactionIn, SatisfactionOut
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["satisfaction"])


@router.get("/tickets/{number}/satisfaction", response_model=SatisfactionOut)
def get_satisfaction(
    number: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> SatisfactionOut:
    ticket = access.ticket_for(session, number, user, clock)
    rating = queries.rating_for(session, ticket.id)
    session.commit()  # the audit row of a sensitive read
    if rating is None:
        raise NotFound(f"ticket #{number} has no rating", field="number")
    return SatisfactionOut.model_validate(rating)


@router.put("/tickets/{number}/satisfaction", response_model=SatisfactionOut)
def rate_ticket(
    number: PathId,
    body: SatisfactionIn,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> SatisfactionOut:
    """Record or change the rating (one per ticket, until it closes). Agents do not rate tickets."""
    ticket = access.ticket_for(session, number, user, clock)
    if user.id != ticket.requester_id and user.role is not Role.ADMIN:
        raise PermissionDenied("only the ticket's requester or an admin rates it", field="number")
    survey = queries.survey_for(session, ticket.id)
    rating = actions.record_rating(
        session,
        ticket=ticket,
        choice=body.rating,
        scale=survey.scale if survey is not None else Scale(settings.csat_scale),
        via=Via(body.via),
        clock=clock,
        comment=body.comment,
        reason=body.reason,
    )
    session.commit()
    return SatisfactionOut.model_validate(rating)
