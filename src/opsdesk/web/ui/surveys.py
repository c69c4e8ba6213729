"""The public survey pages behind the links in survey emails. Nobody signs in: the signed token in the
address is the authority (one ticket and one choice, or one contact's invitation), and every form on
them carries a signed token of its own in place of a session's CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from opsdesk.core.bounds import no_nul
from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.desk.models import Ticket
from opsdesk.desk.surveys import actions, links, queries
from opsdesk.desk.surveys.scale import REASONS, Scale, Via, choice_label, choices
from opsdesk.success.voice import nps_mail
from opsdesk.success.voice.models import NpsInvitation
from opsdesk.success.voice.nps_surveys import answer_invitation
from opsdesk.success.voice.queries import response_to
from opsdesk.web.api.params import FormLine
from opsdesk.web.deps import ClockDep, SessionDep, SettingsDep
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(min_length=10, max_length=600, pattern=r"^[A-Za-z0-9_\-.]+$")]
FormToken = Annotated[str, Form(min_length=10, max_length=600), AfterValidator(no_nul)]
FormComment = Annotated[str, Form(max_length=actions.MAX_COMMENT), AfterValidator(no_nul)]


def _ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("this survey is no longer available", field="token")
    return ticket


def _scale(session: Session, ticket_id: int, settings: Settings) -> Scale:
    """The scale the survey was sent on (the setting may have changed since), else today's setting."""
    survey = queries.survey_for(session, ticket_id)
    return survey.scale if survey is not None else Scale(settings.csat_scale)


def _csat_page(request: Request, session: Session, ticket: Ticket, settings: Settings, clock: ClockDep,
               saved: str) -> Response:  # fmt: skip
    rating = queries.rating_for(session, ticket.id)
    scale = rating.scale if rating is not None else _scale(session, ticket.id, settings)
    return page(
        request,
        "surveys/csat.html",
        None,
        ticket=ticket,
        rating=rating,
        chosen=(str(rating.score) if rating.score is not None else rating.rating.value) if rating else "",
        choices=[(c, choice_label(scale, c)) for c in choices(scale)],
        reasons=REASONS,
        form_token=links.form_token(settings, ticket_id=ticket.id, now=clock.now()),
        saved=saved,
    )


@router.get("/surveys/csat/{token}")
def rate_by_link(
    token: Token, request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """One click in the email records the rating, then offers the comment and reason."""
    ticket_id, choice = links.read_rating_token(settings, token, now=clock.now())
    ticket = _ticket(session, ticket_id)
    actions.record_rating(
        session, ticket=ticket, choice=choice, scale=_scale(session, ticket_id, settings), via=Via.EMAIL,
        clock=clock,
    )  # fmt: skip
    session.commit()
    return _csat_page(request, session, ticket, settings, clock, saved="rating")


@router.post("/surveys/csat")
def rate_by_form(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    token: FormToken,
    choice: FormLine,
    comment: FormComment = "",
    reason: FormLine = "",
) -> Response:
    ticket = _ticket(session, links.read_form_token(settings, token, now=clock.now()))
    actions.record_rating(
        session, ticket=ticket, choice=choice, scale=_scale(session, ticket.id, settings), via=Via.EMAIL,
        clock=clock, comment=comment, reason=reason,
    )  # fmt: skip
    session.commit()
    return _csat_page(request, session, ticket, settings, clock, saved="all")


@router.get("/surveys/opt-out/{token}")
def opt_out_form(token: Token, request: Request, clock: ClockDep, settings: SettingsDep) -> Response:
    links.read_opt_out_token(settings, token, now=clock.now())
    return page(request, "surveys/opt_out.html", None, token=token, done=False)


@router.post("/surveys/opt-out")
def opt_out(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep, token: FormToken
) -> Response:
    person = session.get(User, links.read_opt_out_token(settings, token, now=clock.now()))
    if person is None:
        raise NotFound("this link is no longer valid", field="token")
    actions.opt_out(session, user=person, clock=clock)
    session.commit()
    return page(request, "surveys/opt_out.html", None, token=token, done=True)


def _invitation(session: Session, invitation_id: int) -> NpsInvitation:
    invitation = session.get(NpsInvitation, invitation_id)
    if invitation is None:
        raise NotFound("this survey is no longer available", field="token")
    return invitation


def _nps_page(request: Request, session: Session, invitation: NpsInvitation, settings: Settings,
              clock: ClockDep, saved: str) -> Response:  # fmt: skip
    response = response_to(session, invitation.id)
    return page(
        request,
        "surveys/nps.html",
        None,
        invitation=invitation,
        response=response,
        form_token=nps_mail.form_token(settings, invitation_id=invitation.id, now=clock.now()),
        saved=saved,
    )


@router.get("/surveys/nps/{token}")
def nps_by_link(
    token: Token, request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """One click on a score in the email records it, then asks why."""
    invitation_id, score = nps_mail.read_score_token(settings, token, now=clock.now())
    invitation = _invitation(session, invitation_id)
    answer_invitation(session, invitation=invitation, score=score, clock=clock)
    session.commit()
    return _nps_page(request, session, invitation, settings, clock, saved="score")


@router.post("/surveys/nps")
def nps_by_form(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    token: FormToken,
    score: Annotated[int, Form(ge=0, le=10)],
    comment: FormComment = "",
) -> Response:
    invitation = _invitation(session, nps_mail.read_form_token(settings, token, now=clock.now()))
    answer_invitation(session, invitation=invitation, score=score, clock=clock, comment=comment)
    session.commit()
    return _nps_page(request, session, invitation, settings, clock, saved="all")
