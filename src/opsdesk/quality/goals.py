"""Coaching goals: an IQS to reach, met when the agent's reviews since the goal was set reach it.

A goal is checked whenever something can move the agent's score (a review of their work, an accepted
dispute) rather than by a job, so "met" shows the moment it is true. Only reviews written after the
goal count: the goal is about the coaching working, not the average of the past. A lead may also mark
a goal met by hand (a goal without a target IQS can only be met that way). Meeting a goal is an event
(``qa_goal_met``, subject ``user``) and a notice to the agent and to whoever set it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.core.notifications import notify
from opsdesk.quality import access
from opsdesk.quality.models import Coaching, CoachingKind, Review
from opsdesk.quality.scoring import iqs


def iqs_since_set(session: Session, goal: Coaching) -> tuple[float | None, int]:
    """The agent's IQS over the reviews of their work written since the goal was set (calibration
    reviews left out, accepted disputes applied), and how many there are."""
    reviews = session.scalars(
        select(Review).where(
            Review.agent_id == goal.agent_id,
            Review.calibration_session_id.is_(None),
            Review.created_at >= goal.created_at,
        )
    ).all()
    return iqs(r.effective_score for r in reviews), len(reviews)


def check_goals(session: Session, agent_id: int, *, clock: Clock) -> list[Coaching]:
    """Mark met every open goal of the agent whose target their IQS since it was set now reaches."""
    session.flush()
    open_goals = session.scalars(
        select(Coaching).where(
            Coaching.agent_id == agent_id,
            Coaching.kind == CoachingKind.GOAL,
            Coaching.met_at.is_(None),
            Coaching.target_iqs.is_not(None),
        )
    ).all()
    met = []
    for goal in open_goals:
        score, _n = iqs_since_set(session, goal)
        assert goal.target_iqs is not None
        if score is not None and score >= goal.target_iqs:
            _met(session, goal, by=None, score=score, clock=clock)
            met.append(goal)
    return met


def mark_goal_met(session: Session, *, goal: Coaching, lead: User, clock: Clock) -> Coaching:
    access.require_manage(lead)
    if goal.kind is not CoachingKind.GOAL:
        raise ValidationFailed("only a goal can be met; this is a note", field="coaching_id")
    if goal.met_at is not None:
        raise Conflict(f"goal #{goal.id} was already met", field="coaching_id")
    score, _n = iqs_since_set(session, goal)
    _met(session, goal, by=lead, score=score, clock=clock)
    return goal


def _met(session: Session, goal: Coaching, *, by: User | None, score: float | None, clock: Clock) -> None:
    goal.met_at = clock.now()
    append_event(
        session,
        subject_type="user",
        subject_id=goal.agent_id,
        type="qa_goal_met",
        at=goal.met_at,
        actor=by,
        data={"coaching_id": goal.id, "target_iqs": goal.target_iqs, "iqs": score, "by_hand": by is not None},
    )
    title = f"Goal met: {goal.body[:120]}"
    if score is not None:
        title += f" (IQS {score:.1f}%)"
    for user_id in {goal.agent_id, goal.author_id}:
        if by is None or user_id != by.id:
            notify(session, user_id=user_id, kind="qa_goal_met", title=title, link="/qa/me", clock=clock)
