"""Relationship NPS surveys: schedules per segment, the invitations they produce, and the answers the
invitations' signed links record. Each write runs in the caller's transaction (flush, never commit).

An invitation takes one response, which the contact may change from the same email (the latest answer
counts); every answer is an ``nps_response_recorded`` event on the account (the playbooks' detractor
trigger) and an ``nps_received`` event on its organisation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.success.models import Account, Contact, ContactRole, Segment, Stage
from opsdesk.success.voice.actions import announce_nps, record_nps_response
from opsdesk.success.voice.models import InvitationStatus, NpsInvitation, NpsResponse, NpsSchedule
from opsdesk.success.voice.nps import Candidate, Rule, category, due

MAX_COMMENT = 10_000
ANSWER_WINDOW = timedelta(days=30)  # how long an invitation's links take answers


def save_schedule(
    session: Session,
    *,
    segment: Segment | None,
    roles: Sequence[str],
    every_days: int,
    clock: Clock,
    active: bool = True,
) -> NpsSchedule:
    """The segment's schedule (None: every segment without one of its own), created or replaced."""
    known = {r.value for r in ContactRole}
    chosen = sorted(set(roles))
    if not chosen or not set(chosen) <= known:
        raise ValidationFailed(f"roles are one or more of: {', '.join(sorted(known))}", field="roles")
    if not 30 <= every_days <= 730:
        raise ValidationFailed(
            "a contact is asked at most monthly and at least every two years", field="every_days"
        )
    segment_id = segment.id if segment is not None else None
    row = session.scalar(
        select(NpsSchedule).where(
            NpsSchedule.segment_id.is_(None) if segment_id is None else NpsSchedule.segment_id == segment_id
        )
    )
    now = clock.now()
    if row is None:
        row = NpsSchedule(segment_id=segment_id, created_at=now)
        session.add(row)
    row.roles, row.every_days, row.active, row.updated_at = chosen, every_days, active, now
    session.flush()
    return row


def invite_due(session: Session, *, clock: Clock, limit: int = 2000) -> int:
    """Add a pending invitation for every contact its schedule says is due; returns how many.
    Churned accounts are not surveyed. Idempotent within a period: the last invitation is the clock."""
    rules = {
        s.segment_id: Rule(frozenset(s.roles), timedelta(days=s.every_days))
        for s in session.scalars(select(NpsSchedule).where(NpsSchedule.active.is_(True)))
    }
    if not rules:
        return 0
    rows = session.execute(
        select(
            Contact.id,
            Contact.account_id,
            func.coalesce(Account.segment_override_id, Account.segment_id),  # a pinned segment wins
            Contact.role,
            Contact.email,
        )
        .join(Account, Account.id == Contact.account_id)
        .where(Account.stage != Stage.CHURNED, Contact.email.is_not(None))
        .order_by(Contact.id)
    ).all()
    candidates = [Candidate(c, a, s, ContactRole(r).value, e) for c, a, s, r, e in rows]
    last = dict(
        session.execute(select(NpsInvitation.contact_id, func.max(NpsInvitation.created_at)).group_by(
            NpsInvitation.contact_id
        )).all()
    )  # fmt: skip
    now = clock.now()
    chosen = due(candidates, rules, last, now)[:limit]
    for c in chosen:
        session.add(
            NpsInvitation(
                account_id=c.account_id,
                contact_id=c.contact_id,
                to=c.email or "",
                status=InvitationStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()
    return len(chosen)


def answer_invitation(
    session: Session,
    *,
    invitation: NpsInvitation,
    score: int,
    clock: Clock,
    comment: str | None = None,
) -> NpsResponse:
    """Record (or change) the invitation's response. ``comment`` None keeps an earlier comment."""
    category(score)  # validates 0-10
    now = clock.now()
    if invitation.sent_at is None or now - invitation.sent_at > ANSWER_WINDOW:
        raise Conflict("this survey is closed", field="token")
    if comment is not None:
        comment = comment.strip()
        if len(comment) > MAX_COMMENT or "\x00" in comment:
            raise ValidationFailed(f"a comment is at most {MAX_COMMENT} characters of text", field="comment")
    row = session.scalar(select(NpsResponse).where(NpsResponse.invitation_id == invitation.id))
    if row is None:
        row = record_nps_response(
            session, account=invitation.account, score=score, responded_at=now, clock=clock,
            contact=invitation.contact, comment=comment or "",
        )  # fmt: skip
        row.invitation_id = invitation.id
        session.flush()
        return row
    row.score, row.responded_at = score, now
    if comment is not None:
        row.comment = comment
    append_event(
        session,
        subject_type="account",
        subject_id=invitation.account_id,
        type="nps_response_recorded",
        at=now,
        data={"response_id": row.id, "score": score, "contact_id": row.contact_id},
    )
    announce_nps(session, account=invitation.account, contact=invitation.contact, score=score, clock=clock)
    session.flush()
    return row
