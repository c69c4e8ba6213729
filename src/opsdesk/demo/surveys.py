"""CSAT history for the demo: the survey of every solved ticket and the ratings customers gave, at the
rates support teams see (about a quarter answer, about 87 % of answers good; chats are rated in the
widget when they end), written as the survey job and the rating pages would have written them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket
from opsdesk.desk.surveys.actions import RATED_EVENT
from opsdesk.desk.surveys.mail import SENT_EVENT
from opsdesk.desk.surveys.models import CsatRating, CsatSurvey, SurveyStatus
from opsdesk.desk.surveys.scale import REASONS, Rating, Scale, Via

DELAY = timedelta(hours=24)
SURVEY_ROWS_FOR = timedelta(days=30)  # surveys sent longer ago appear only through their ratings
CHAT_WIDGET_RATE = 0.35  # rated in the widget as the chat ends
RESPONSE_RATE = {Channel.PHONE: 0.18}  # answers to the email survey; others: 0.25
GOOD_RATE = {Channel.CHAT: 0.9, Channel.PHONE: 0.88, Channel.SOCIAL: 0.82}  # others: 0.86
COMMENTS_GOOD = ("Quick and clear, thank you.", "Sorted in minutes.", "Very helpful agent.")
COMMENTS_BAD = ("Took far too long.", "I had to explain it three times.", "Still not fixed.")


def create_csat_history(session: Session, *, rng: np.random.Generator, now: datetime) -> dict[str, int]:
    """Surveys and ratings for every demo ticket solved with a public agent reply."""
    answered = exists().where(
        and_(
            Message.ticket_id == Ticket.id, Message.public.is_(True), Message.author_kind == AuthorKind.AGENT
        )
    )
    tickets = session.execute(
        select(Ticket.id, Ticket.requester_id, Ticket.channel, Ticket.solved_at, Ticket.closed_at)
        .where(Ticket.solved_at.is_not(None), Ticket.merged_into_id.is_(None), answered)
        .order_by(Ticket.id)
    ).all()
    surveys: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    draws = rng.random((len(tickets), 4))
    recent = now - SURVEY_ROWS_FOR
    for (ticket_id, requester_id, channel, solved, closed), (answer, good, hours, note) in zip(
        tickets, draws, strict=True
    ):
        assert solved is not None  # selected so
        in_widget = channel is Channel.CHAT and answer < CHAT_WIDGET_RATE
        if channel is Channel.CHAT and not in_widget:
            answer = (answer - CHAT_WIDGET_RATE) / (1 - CHAT_WIDGET_RATE)  # a fresh draw for the email
        rated = in_widget or answer < RESPONSE_RATE.get(channel, 0.25)
        sent = solved + DELAY
        if in_widget:
            at, via = solved + timedelta(seconds=20), Via.CHAT
        else:
            if sent > now or (closed is not None and closed <= sent):
                continue
            if sent >= recent:  # older offers are left out to keep the load fast; ratings are not
                surveys.append(
                    {"ticket_id": ticket_id, "to": None, "scale": Scale.GOOD_BAD, "status": SurveyStatus.SENT,
                     "skip_reason": None, "attempts": 1, "next_attempt_at": sent, "last_error": None,
                     "created_at": sent, "sent_at": sent}
                )  # fmt: skip
                events.append(
                    _event(ticket_id, sent, SENT_EVENT, None, {"survey": "csat", "scale": "good_bad"})
                )
            at, via = sent + timedelta(hours=float(0.2 + hours * 20)), Via.EMAIL
            if not rated or at > now or (closed is not None and at >= closed):
                continue
        rating = Rating.GOOD if good < GOOD_RATE.get(channel, 0.86) else Rating.BAD
        comment = ""
        if note < 0.3:
            pool = COMMENTS_GOOD if rating is Rating.GOOD else COMMENTS_BAD
            comment = pool[int(note * 10) % len(pool)]
        reason = REASONS[int(note * 100) % 3] if rating is Rating.BAD and note < 0.6 else None
        ratings.append(
            {"ticket_id": ticket_id, "requester_id": requester_id, "scale": Scale.GOOD_BAD, "rating": rating,
             "score": None, "comment": comment, "reason": reason, "via": via, "created_at": at,
             "updated_at": at}
        )  # fmt: skip
        data = {
            "rating": rating.value,
            "score": None,
            "scale": "good_bad",
            "via": via.value,
            "comment": bool(comment),
        }
        events.append(_event(ticket_id, at, RATED_EVENT, requester_id, data))
    first_event = next_id(session, Event)
    events.sort(key=lambda e: e["at"])
    bulk_insert(session, CsatSurvey, surveys)
    bulk_insert(session, CsatRating, ratings)
    bulk_insert(session, Event, [{"id": first_event + i, **e} for i, e in enumerate(events)])
    return {"CSAT surveys": len(surveys), "CSAT ratings": len(ratings)}


def _event(
    ticket_id: int, at: datetime, type_: str, actor: int | None, data: dict[str, Any]
) -> dict[str, Any]:
    return {"at": at, "actor_id": actor, "subject_type": "ticket", "subject_id": ticket_id, "type": type_,
            "data": data}  # fmt: skip
