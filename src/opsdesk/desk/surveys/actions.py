"""CSAT writes. Each runs in the caller's transaction (flush, never commit) and appends its events
there: ``csat_received`` for every rating or change (the latest per ticket counts)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.desk.models import AuthorKind, Message, Status, Ticket
from opsdesk.desk.surveys.models import CsatRating, CsatSurvey, SurveyOptOut, SurveyStatus
from opsdesk.desk.surveys.scale import Scale, TicketFacts, Via, answer, check_reason, skip_reason

RATED_EVENT = "csat_received"
MAX_COMMENT = 10_000
# Tickets solved longer ago than the delay plus this are never surveyed: turning surveys on (or a long
# outage of the job) does not mail every customer about tickets from months ago.
LOOKBACK = timedelta(days=7)


def _public_agent_replies(session: Session, ticket_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Message.ticket_id, func.count())
        .where(
            Message.ticket_id.in_(ticket_ids),
            Message.public.is_(True),
            Message.author_kind == AuthorKind.AGENT,
        )
        .group_by(Message.ticket_id)
    ).all()
    return {int(t): int(n) for t, n in rows}


def record_rating(
    session: Session,
    *,
    ticket: Ticket,
    choice: str | int,
    scale: Scale,
    via: Via,
    clock: Clock,
    comment: str | None = None,
    reason: str | None = None,
) -> CsatRating:
    """Rate ``ticket`` for its requester: a first rating or a change of it, until the ticket closes.

    ``choice`` is ``good``/``bad`` or ``1``..``5`` as the scale has it. ``comment`` and ``reason`` left
    None keep what an earlier answer gave (a one-click rating does not wipe the comment); an empty
    string clears them. The chat widget calls this with ``via=Via.CHAT``."""
    if ticket.merged_into_id is not None:
        raise Conflict(f"ticket #{ticket.id} was merged; rate the ticket it was merged into", field="number")
    if ticket.status is Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed; its rating can no longer change", field="number")
    if not _public_agent_replies(session, [ticket.id]):
        raise Conflict(f"ticket #{ticket.id} has no reply from an agent to rate yet", field="number")
    given = answer(scale, choice)
    if comment is not None:
        comment = comment.strip()
        if len(comment) > MAX_COMMENT:
            raise ValidationFailed(f"a comment is at most {MAX_COMMENT} characters", field="comment")
        if "\x00" in comment:
            raise ValidationFailed("a comment cannot contain NUL characters", field="comment")
    reason = check_reason(reason) if reason is not None else None
    now = clock.now()
    row = session.scalar(select(CsatRating).where(CsatRating.ticket_id == ticket.id).with_for_update())
    if row is None:
        row = CsatRating(ticket_id=ticket.id, requester_id=ticket.requester_id, comment="", created_at=now)
        session.add(row)
    row.scale, row.rating, row.score, row.via, row.updated_at = (
        given.scale,
        given.rating,
        given.score,
        via,
        now,
    )
    if comment is not None:
        row.comment = comment
    if reason is not None or comment is not None:
        row.reason = reason
    session.flush()
    append_event(
        session,
        subject_type="ticket",
        subject_id=ticket.id,
        type=RATED_EVENT,
        at=now,
        actor=ticket.requester,
        data={
            "rating": given.rating.value,
            "score": given.score,
            "scale": given.scale.value,
            "via": via.value,
            "comment": bool(row.comment),
        },
    )
    return row


def opt_out(session: Session, *, user: User, clock: Clock) -> bool:
    """No more surveys for this person; True when it is new. Surveys already sent stay answerable."""
    if session.get(SurveyOptOut, user.id) is not None:
        return False
    session.add(SurveyOptOut(user_id=user.id, created_at=clock.now()))
    append_event(
        session, subject_type="user", subject_id=user.id, type="csat_opted_out", at=clock.now(), actor=user
    )
    session.flush()
    return True


def schedule_surveys(session: Session, *, clock: Clock, settings: Settings, limit: int = 1000) -> int:
    """Give each ticket solved at least the configured delay ago its survey row: pending to send, or
    skipped with the reason. Returns how many are pending. Idempotent: a ticket has one row."""
    now = clock.now()
    due_by = now - timedelta(hours=settings.csat_delay_hours)
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.status == Status.SOLVED,
                Ticket.solved_at <= due_by,
                Ticket.solved_at > due_by - LOOKBACK,
                ~exists().where(CsatSurvey.ticket_id == Ticket.id),
            )
            .order_by(Ticket.solved_at)
            .limit(limit)
        )
    )
    if not tickets:
        return 0
    ids = [t.id for t in tickets]
    replies = _public_agent_replies(session, ids)
    opted = set(
        session.scalars(
            select(SurveyOptOut.user_id).where(SurveyOptOut.user_id.in_({t.requester_id for t in tickets}))
        )
    )
    rated = set(session.scalars(select(CsatRating.ticket_id).where(CsatRating.ticket_id.in_(ids))))
    scale = Scale(settings.csat_scale)
    pending = 0
    for ticket in tickets:
        requester = ticket.requester
        why = skip_reason(
            TicketFacts(
                merged=ticket.merged_into_id is not None,
                public_agent_replies=replies.get(ticket.id, 0),
                requester_opted_out=ticket.requester_id in opted,
                requester_email=requester.email,
                requester_is_staff=requester.is_staff,
                already_rated=ticket.id in rated,
            )
        )
        session.add(
            CsatSurvey(
                ticket_id=ticket.id,
                to=requester.email,
                scale=scale,
                status=SurveyStatus.SKIPPED if why else SurveyStatus.PENDING,
                skip_reason=why.value if why else None,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        pending += why is None
    session.flush()
    return pending
