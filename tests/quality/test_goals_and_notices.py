"""The agent is told about reviews of their work, decisions on their disputes and coaching; a coaching
goal is met by itself once the reviews since it was set reach its target, or by a lead by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import notifications
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, PermissionDenied
from opsdesk.core.models import Event
from opsdesk.quality import actions
from opsdesk.quality.goals import iqs_since_set, mark_goal_met
from opsdesk.quality.models import Coaching, CoachingKind
from tests.quality.world import build_team, ratings, worked_ticket


def _kinds(session: Session, user_id: int) -> list[str]:
    return [n.kind for n in reversed(notifications.recent(session, user_id))]


def test_reviews_disputes_and_coaching_notify_the_agent_and_calibration_reviews_do_not(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    review = actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=ticket,
        agent=team.agent,
        version=team.version,
        ratings=ratings(empathy=3, tone=2, solution=4, privacy=1),
        clock=clock,
    )
    dispute = actions.open_dispute(
        db,
        review=review,
        agent=team.agent,
        category_key="solution",
        reason="The fix was complete",
        clock=clock,
    )
    actions.resolve_dispute(db, dispute=dispute, lead=team.lead, accept=False, corrections={}, clock=clock)
    actions.add_coaching(
        db, author=team.lead, agent=team.agent, kind=CoachingKind.NOTE, body="Nice", clock=clock
    )
    db.commit()
    with session_factory() as other:
        assert _kinds(other, team.agent.id) == ["qa_review", "qa_dispute_resolved", "qa_coaching"]
        first = notifications.recent(other, team.agent.id)[-1]
        assert first.title == f"{team.reviewer.name} reviewed your work on ticket #{ticket.id}: 71.6%"
        assert first.link == f"/qa/me#review-{review.id}"
        assert notifications.unread_count(other, team.agent.id) == 3
        assert notifications.unread_count(other, team.other_agent.id) == 0

    # A blind calibration session asks its reviewers; their practice reviews tell the agent nothing.
    second = worked_ticket(db, clock, team, agents=[team.agent], subject="Second")
    session_row = actions.create_calibration(
        db,
        lead=team.lead,
        name="Week 49",
        version=team.version,
        reviewers=[team.reviewer, team.clinical_reviewer],
        items=[(second, team.agent)],
        clock=clock,
    )
    actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=second,
        agent=team.agent,
        version=team.version,
        ratings=ratings(empathy=1, tone=1, solution=1, privacy=1),
        calibration=session_row,
        clock=clock,
    )
    db.commit()
    assert _kinds(db, team.reviewer.id) == ["qa_calibration"]
    assert _kinds(db, team.clinical_reviewer.id) == ["qa_calibration"]
    assert notifications.unread_count(db, team.agent.id) == 3

    # Marking read takes only what was shown: one that arrived since stays unread.
    shown = notifications.recent(db, team.agent.id)[0].id
    actions.add_coaching(
        db, author=team.lead, agent=team.agent, kind=CoachingKind.NOTE, body="More", clock=clock
    )
    assert notifications.mark_read(db, team.agent.id, clock, up_to_id=shown) == 3
    db.commit()
    assert notifications.unread_count(db, team.agent.id) == 1


def test_a_goal_is_met_when_the_reviews_since_it_was_set_reach_its_target(
    db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    # A poor review before the goal: it does not count against (or towards) the goal.
    old = worked_ticket(db, clock, team, agents=[team.agent], subject="Old")
    actions.submit_review(
        db, reviewer=team.reviewer, ticket=old, agent=team.agent, version=team.version,
        ratings=ratings(empathy=1, tone=1, solution=1, privacy=1), clock=clock,
    )  # fmt: skip
    clock.advance(timedelta(hours=1))
    goal = actions.add_coaching(
        db, author=team.lead, agent=team.agent, kind=CoachingKind.GOAL, body="Explain the fix fully",
        target_iqs=70.0, clock=clock,
    )  # fmt: skip
    db.commit()
    assert iqs_since_set(db, goal) == (None, 0)
    clock.advance(timedelta(hours=1))
    # 71.6% since the goal: over 70, so the goal is met by the review itself.
    mid = worked_ticket(db, clock, team, agents=[team.agent], subject="Mid")
    actions.submit_review(
        db, reviewer=team.reviewer, ticket=mid, agent=team.agent, version=team.version,
        ratings=ratings(empathy=3, tone=2, solution=4, privacy=1), clock=clock,
    )  # fmt: skip
    db.commit()
    db.expire_all()
    stored = db.get_one(Coaching, goal.id)
    assert stored.met_at == clock.now()
    met = db.scalars(select(Event).where(Event.type == "qa_goal_met")).all()
    assert [e.data["coaching_id"] for e in met] == [goal.id]
    assert met[0].data["iqs"] == pytest.approx(71.5686, abs=1e-3)
    assert "qa_goal_met" in _kinds(db, team.agent.id)
    assert "qa_goal_met" in _kinds(db, team.lead.id)
    with pytest.raises(Conflict):
        mark_goal_met(db, goal=stored, lead=team.lead, clock=clock)


def test_a_goal_below_target_stays_open_until_a_lead_marks_it(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    goal = actions.add_coaching(
        db, author=team.lead, agent=team.agent, kind=CoachingKind.GOAL, body="Warmer tone",
        target_iqs=90.0, clock=clock,
    )  # fmt: skip
    clock.advance(timedelta(minutes=5))
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    actions.submit_review(
        db, reviewer=team.reviewer, ticket=ticket, agent=team.agent, version=team.version,
        ratings=ratings(empathy=3, tone=2, solution=4, privacy=1), clock=clock,
    )  # fmt: skip
    db.commit()
    assert db.get_one(Coaching, goal.id).met_at is None
    with pytest.raises(PermissionDenied):
        mark_goal_met(db, goal=goal, lead=team.agent, clock=clock)
    mark_goal_met(db, goal=goal, lead=team.lead, clock=clock)
    db.commit()
    db.expire_all()
    assert db.get_one(Coaching, goal.id).met_at is not None
    event = db.scalars(select(Event).where(Event.type == "qa_goal_met")).one()
    assert event.data["by_hand"] is True and event.actor_id == team.lead.id
    # The lead who marked it is not told what they just did; the agent is.
    assert "qa_goal_met" in _kinds(db, team.agent.id)
    assert "qa_goal_met" not in _kinds(db, team.lead.id)
