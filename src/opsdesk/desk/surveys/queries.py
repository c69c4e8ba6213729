"""CSAT reads: a ticket's rating and survey state, for the ticket page and the API."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.desk.surveys.models import CsatRating, CsatSurvey, SurveyOptOut


def rating_for(session: Session, ticket_id: int) -> CsatRating | None:
    return session.scalar(select(CsatRating).where(CsatRating.ticket_id == ticket_id))


def survey_for(session: Session, ticket_id: int) -> CsatSurvey | None:
    return session.scalar(select(CsatSurvey).where(CsatSurvey.ticket_id == ticket_id))


def opted_out(session: Session, user_id: int) -> bool:
    return session.get(SurveyOptOut, user_id) is not None
