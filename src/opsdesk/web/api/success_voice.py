"""The voice of the customer in the API: /api/v1/escalations (ranked by ARR and covered lives) with their
timeline, /api/v1/nps-responses and /api/v1/feedback with GET /feedback/ranking."""

from __future__ import annotations

from fastapi import APIRouter, Response

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import queries as success_queries
from opsdesk.success.voice import actions as voice_actions
from opsdesk.success.voice import queries as voice_queries
from opsdesk.success.voice.models import EscalationStatus, FeedbackRequest, RequestStatus, Severity
from opsdesk.success.voice.schemas import (
    AskIn,
    AskOut,
    EscalationIn,
    EscalationOut,
    EscalationUpdateIn,
    FeedbackIn,
    FeedbackOut,
    FeedbackUpdateIn,
    NpsIn,
    NpsOut,
    RankedAreaOut,
    RankedEscalationOut,
    RankedRequestOut,
    RankingOut,
    TimelineIn,
    TimelineOut,
)
from opsdesk.web.api.params import PathId, QueryDay, QueryId, QueryText
from opsdesk.web.api.success_refs import account_ref, contact_ref, require_read, require_write, user_ref
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["success work"])
Id = PathId


# --- escalations --------------------------------------------------------------------------------------


@router.get("/escalations", response_model=list[RankedEscalationOut])
def list_escalations(
    user: CurrentUser,
    session: SessionDep,
    account_id: QueryId = None,
    status: EscalationStatus | None = None,
    severity: Severity | None = None,
    ticket: QueryId = None,
    *,
    clock: ClockDep,
) -> list[RankedEscalationOut]:
    """Ranked by what is at stake: the customer's ARR today, then covered lives, then severity and age;
    each row carries its account's name, ARR (cents) and covered lives."""
    require_read(user)
    ranked = voice_queries.ranked_escalations(
        session,
        today=clock.now().date(),
        account_id=account_id,
        status=status,
        severity=severity,
        ticket_number=ticket,
    )
    return [RankedEscalationOut.ranked(r) for r in ranked]


@router.post("/escalations", status_code=201, response_model=EscalationOut)
def open_escalation(
    body: EscalationIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> EscalationOut:
    require_write(user)
    row = voice_actions.open_escalation(
        session,
        account=account_ref(session, body.account_id),
        severity=body.severity,
        title=body.title,
        owner=user_ref(session, body.owner_id, "owner_id"),
        executive_sponsor=user_ref(session, body.executive_sponsor_id, "executive_sponsor_id"),
        ticket_numbers=body.ticket_numbers,
        note=body.note,
        actor=user,
        clock=clock,
    )
    session.commit()
    return EscalationOut.of(row)


@router.get("/escalations/{escalation_id}", response_model=EscalationOut)
def get_escalation(escalation_id: Id, user: CurrentUser, session: SessionDep) -> EscalationOut:
    require_read(user)
    return EscalationOut.of(voice_queries.escalation(session, escalation_id))


@router.patch("/escalations/{escalation_id}", response_model=EscalationOut)
def update_escalation(
    escalation_id: Id, body: EscalationUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> EscalationOut:
    require_write(user)
    given = body.model_fields_set
    row = voice_actions.update_escalation(
        session,
        escalation=voice_queries.escalation(session, escalation_id),
        status=body.status,
        severity=body.severity,
        title=body.title,
        owner=user_ref(session, body.owner_id, "owner_id") if "owner_id" in given else voice_actions.UNSET,
        executive_sponsor=(
            user_ref(session, body.executive_sponsor_id, "executive_sponsor_id")
            if "executive_sponsor_id" in given
            else voice_actions.UNSET
        ),
        ticket_numbers=body.ticket_numbers,
        note=body.note,
        actor=user,
        clock=clock,
    )
    session.commit()
    return EscalationOut.of(row)


@router.post("/escalations/{escalation_id}/timeline", status_code=201, response_model=TimelineOut)
def add_timeline_note(
    escalation_id: Id, body: TimelineIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TimelineOut:
    require_write(user)
    if body.at is not None and body.at.tzinfo is None:
        raise ValidationFailed("'at' needs a time zone", field="at")
    row = voice_actions.add_timeline_note(
        session,
        escalation=voice_queries.escalation(session, escalation_id),
        note=body.note,
        at=body.at,
        author=user,
        clock=clock,
    )
    session.commit()
    return TimelineOut.model_validate(row)


# --- NPS ----------------------------------------------------------------------------------------------


@router.post("/nps-responses", status_code=201, response_model=NpsOut)
def record_nps(body: NpsIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> NpsOut:
    require_write(user)
    if body.responded_at.tzinfo is None:
        raise ValidationFailed("'responded_at' needs a time zone", field="responded_at")
    row = voice_actions.record_nps_response(
        session,
        account=account_ref(session, body.account_id),
        score=body.score,
        responded_at=body.responded_at,
        contact=contact_ref(session, body.contact_id),
        comment=body.comment,
        external_id=body.external_id,
        clock=clock,
    )
    session.commit()
    return NpsOut.model_validate(row)


@router.get("/accounts/{account_id}/nps-responses", response_model=list[NpsOut])
def list_nps(account_id: Id, user: CurrentUser, session: SessionDep) -> list[NpsOut]:
    require_read(user)
    success_queries.account(session, account_id)
    return [NpsOut.model_validate(r) for r in voice_queries.nps_responses(session, account_id)]


# --- feedback -----------------------------------------------------------------------------------------


@router.get("/feedback", response_model=list[FeedbackOut])
def list_feedback(
    user: CurrentUser,
    session: SessionDep,
    product_area: QueryText = None,
    status: RequestStatus | None = None,
    account_id: QueryId = None,
) -> list[FeedbackOut]:
    require_read(user)
    rows = voice_queries.requests(session, product_area=product_area, status=status, account_id=account_id)
    return [FeedbackOut.of(r) for r in rows]


@router.post("/feedback", status_code=201, response_model=FeedbackOut)
def create_feedback(body: FeedbackIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> FeedbackOut:
    require_write(user)
    row = voice_actions.create_request(
        session,
        title=body.title,
        product_area_name=body.product_area,
        description=body.description,
        actor=user,
        clock=clock,
    )
    for ask in body.asks:
        _add_ask(session, row, ask, user, clock)
    session.commit()
    return FeedbackOut.of(row)


@router.get("/feedback/ranking", response_model=RankingOut)
def feedback_ranking(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    on: QueryDay = None,
    include_closed: bool = False,
) -> RankingOut:
    """Product areas and requests ranked by the ARR (on ``on``, default today) and covered lives asking."""
    require_read(user)
    areas, requests = voice_queries.ranking(
        session, on=on or clock.now().date(), include_closed=include_closed
    )
    return RankingOut(
        product_areas=[RankedAreaOut(**r) for r in areas.to_dict("records")],
        requests=[RankedRequestOut(**r) for r in requests.to_dict("records")],
    )


@router.get("/feedback/{request_id}", response_model=FeedbackOut)
def get_feedback(request_id: Id, user: CurrentUser, session: SessionDep) -> FeedbackOut:
    require_read(user)
    return FeedbackOut.of(voice_queries.request(session, request_id))


@router.patch("/feedback/{request_id}", response_model=FeedbackOut)
def update_feedback(
    request_id: Id, body: FeedbackUpdateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> FeedbackOut:
    require_write(user)
    row = voice_actions.update_request(
        session,
        request=voice_queries.request(session, request_id),
        title=body.title,
        description=body.description,
        product_area_name=body.product_area,
        status=body.status,
        actor=user,
        clock=clock,
    )
    session.commit()
    return FeedbackOut.of(row)


@router.delete("/feedback/{request_id}", status_code=204)
def delete_feedback(request_id: Id, user: CurrentUser, session: SessionDep) -> Response:
    require_write(user)
    voice_actions.delete_request(session, request=voice_queries.request(session, request_id))
    session.commit()
    return Response(status_code=204)


def _add_ask(
    session: SessionDep, request: FeedbackRequest, ask: AskIn, user: User, clock: ClockDep
) -> AskOut:
    row = voice_actions.add_ask(
        session,
        request=request,
        account=account_ref(session, ask.account_id),
        contact=contact_ref(session, ask.contact_id),
        ticket_number=ask.ticket_number,
        note=ask.note,
        actor=user,
        clock=clock,
    )
    return AskOut.model_validate(row)


@router.post("/feedback/{request_id}/asks", status_code=201, response_model=AskOut)
def add_ask(request_id: Id, body: AskIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> AskOut:
    require_write(user)
    out = _add_ask(session, voice_queries.request(session, request_id), body, user, clock)
    session.commit()
    return out


@router.delete("/feedback/{request_id}/asks/{account_id}", status_code=204)
def remove_ask(
    request_id: Id, account_id: Id, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Response:
    require_write(user)
    voice_actions.remove_ask(
        session,
        request=voice_queries.request(session, request_id),
        account=account_ref(session, account_id),
        clock=clock,
        actor=user,
    )
    session.commit()
    return Response(status_code=204)
