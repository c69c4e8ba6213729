"""Reviews, rubric versions, disputes and coaching stored for real and read back."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from opsdesk.core.models import Event
from opsdesk.quality import actions, queries
from opsdesk.quality.models import CoachingKind, Dispute, DisputeStatus, Review
from opsdesk.quality.schemas import RubricIn
from tests.quality.world import RUBRIC, build_team, ratings, worked_ticket


def test_a_review_is_scored_stored_and_recorded_as_an_event(
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
        ratings={**ratings(empathy=3, tone=2, solution=4, privacy=1), "tone": (2, "a bit curt")},
        comment="Good fix",
        clock=clock,
    )
    db.commit()
    # empathy 3/4 -> 66.67 x20, tone 2/3 -> 50 x10, solution 4/5 -> 75 x50, privacy yes -> 100 x5:
    # (1333.33 + 500 + 3750 + 500) / 85 = 71.5686
    with session_factory() as other:
        stored = other.get(Review, review.id)
        assert stored is not None
        assert stored.score == pytest.approx(71.5686, abs=1e-3)
        assert {r.category_key: r.value for r in stored.ratings} == {
            "empathy": 3,
            "tone": 2,
            "solution": 4,
            "privacy": 1,
        }
        assert [r.comment for r in stored.ratings if r.category_key == "tone"] == ["a bit curt"]
        event = other.scalars(select(Event).where(Event.type == "qa_review_submitted")).one()
        assert (event.subject_type, event.subject_id, event.data["agent_id"]) == (
            "qa_review",
            review.id,
            team.agent.id,
        )


def test_one_agents_part_of_a_shared_ticket_and_only_agents_who_worked_it(
    db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent, team.other_agent])
    values = ratings(empathy=None, tone=3, solution=5, privacy=1)
    first = actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=ticket,
        agent=team.agent,
        version=team.version,
        ratings=values,
        clock=clock,
    )
    second = actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=ticket,
        agent=team.other_agent,
        version=team.version,
        ratings=values,
        clock=clock,
    )
    assert (first.agent_id, second.agent_id) == (team.agent.id, team.other_agent.id)
    with pytest.raises(Conflict):
        actions.submit_review(
            db,
            reviewer=team.reviewer,
            ticket=ticket,
            agent=team.agent,
            version=team.version,
            ratings=values,
            clock=clock,
        )
    alone = worked_ticket(db, clock, team, agents=[team.agent])
    with pytest.raises(ValidationFailed, match="did not work on"):
        actions.submit_review(
            db,
            reviewer=team.reviewer,
            ticket=alone,
            agent=team.other_agent,
            version=team.version,
            ratings=values,
            clock=clock,
        )


def test_a_changed_rubric_never_rewrites_old_reviews(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    old = actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=ticket,
        agent=team.agent,
        version=team.version,
        ratings=ratings(empathy=None, tone=3, solution=3, privacy=1),
        clock=clock,
    )
    # (100*10 + 50*50 + 100*5) / 65 = 4000 / 65 = 61.538
    assert old.score == pytest.approx(61.538, abs=1e-3)
    changed = {**RUBRIC, "sections": [dict(RUBRIC["sections"][1])]}  # type: ignore[index]
    changed["sections"][0]["categories"] = [
        {"key": "solution", "name": "Solution", "scale": "1-3", "weight": 100},
    ]
    v2 = actions.publish_rubric(db, rubric=RubricIn.model_validate(changed), actor=team.lead, clock=clock)
    db.commit()
    assert (v2.rubric_id, v2.version) == (team.version.rubric_id, 2)
    assert queries.latest_version(db, v2.rubric_id).id == v2.id
    db.expire_all()
    again = db.get(Review, old.id)
    assert again is not None and again.rubric_version_id == team.version.id
    assert again.score == pytest.approx(61.538, abs=1e-3)
    assert [c["key"] for c in again.rubric_version.categories] == ["empathy", "tone", "solution", "privacy"]
    # An old review's dispute is still judged on its own version's scale (1-5 for solution).
    dispute = actions.open_dispute(
        db,
        review=again,
        agent=team.agent,
        category_key="solution",
        reason="The fix was right first time",
        clock=clock,
    )
    actions.resolve_dispute(
        db, dispute=dispute, lead=team.lead, accept=True, corrections={"solution": 5}, clock=clock
    )
    assert again.corrected_score == pytest.approx(100.0)


def test_an_accepted_dispute_corrects_the_score_and_keeps_the_original(
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
        ratings=ratings(empathy=2, tone=3, solution=2, privacy=1),
        clock=clock,
    )
    db.commit()
    # (33.33*20 + 100*10 + 25*50 + 100*5) / 85 = (666.67 + 1000 + 1250 + 500) / 85 = 40.196
    assert review.score == pytest.approx(40.196, abs=1e-3)
    with pytest.raises(PermissionDenied):
        actions.open_dispute(
            db,
            review=review,
            agent=team.other_agent,
            category_key=None,
            reason="Not fair at all",
            clock=clock,
        )
    dispute = actions.open_dispute(
        db,
        review=review,
        agent=team.agent,
        category_key="solution",
        reason="The KB article says this fix",
        clock=clock,
    )
    db.commit()
    with pytest.raises(Conflict):
        actions.open_dispute(
            db,
            review=review,
            agent=team.agent,
            category_key="solution",
            reason="Asking once more",
            clock=clock,
        )
    with pytest.raises(PermissionDenied):
        actions.resolve_dispute(
            db, dispute=dispute, lead=team.reviewer, accept=True, corrections={"solution": 4}, clock=clock
        )
    with pytest.raises(ValidationFailed, match="about solution only"):
        actions.resolve_dispute(
            db, dispute=dispute, lead=team.lead, accept=True, corrections={"tone": 1}, clock=clock
        )
    clock.advance(__import__("datetime").timedelta(hours=5))
    actions.resolve_dispute(
        db,
        dispute=dispute,
        lead=team.lead,
        accept=True,
        corrections={"solution": 4},
        note="Agreed",
        clock=clock,
    )
    db.commit()
    # solution 4/5 -> 75: (666.67 + 1000 + 3750 + 500) / 85 = 69.608
    with session_factory() as other:
        stored = other.get(Review, review.id)
        assert stored is not None
        assert stored.score == pytest.approx(40.196, abs=1e-3)
        assert stored.corrected_score == pytest.approx(69.608, abs=1e-3)
        assert stored.effective_score == pytest.approx(69.608, abs=1e-3)
        assert [r.value for r in stored.ratings if r.category_key == "solution"] == [2]
        resolved = other.get(Dispute, dispute.id)
        assert resolved is not None and resolved.status is DisputeStatus.ACCEPTED
        event = other.scalars(select(Event).where(Event.type == "qa_dispute_resolved")).one()
        assert event.data["outcome"] == "accepted" and event.data["hours_open"] == 5.0
        stats = queries.dispute_stats(other, other.merge(team.lead))
        assert stats["solution"]["accepted_rate"] == 1.0
        assert stats["solution"]["mean_hours_to_resolve"] == 5.0
        assert queries.iqs_of(other, other.merge(team.agent), agent_id=team.agent.id).iqs == pytest.approx(
            69.608, abs=1e-3
        )
    with pytest.raises(Conflict):
        actions.resolve_dispute(
            db, dispute=dispute, lead=team.lead, accept=False, corrections={}, clock=clock
        )


def test_a_rejected_dispute_leaves_the_score(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    review = actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=ticket,
        agent=team.agent,
        version=team.version,
        ratings=ratings(empathy=4, tone=3, solution=5, privacy=0),
        clock=clock,
    )
    assert review.score == 0.0  # privacy is critical and failed
    dispute = actions.open_dispute(
        db, review=review, agent=team.agent, category_key=None, reason="I did verify the caller", clock=clock
    )
    actions.resolve_dispute(db, dispute=dispute, lead=team.lead, accept=False, corrections={}, clock=clock)
    assert dispute.status is DisputeStatus.REJECTED
    assert review.effective_score == 0.0 and not review.corrected
    assert queries.dispute_stats(db, team.lead)["(whole review)"]["rejected_rate"] == 1.0


def test_coaching_notes_and_goals_linked_to_reviews(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    review = actions.submit_review(
        db,
        reviewer=team.reviewer,
        ticket=ticket,
        agent=team.agent,
        version=team.version,
        ratings=ratings(empathy=2, tone=2, solution=3, privacy=1),
        clock=clock,
    )
    actions.add_coaching(
        db,
        author=team.lead,
        agent=team.agent,
        kind=CoachingKind.GOAL,
        body="Acknowledge the customer's worry first",
        review=review,
        target_iqs=80,
        clock=clock,
    )
    actions.add_coaching(
        db,
        author=team.reviewer,
        agent=team.agent,
        kind=CoachingKind.NOTE,
        body="See the empathy playbook",
        clock=clock,
    )
    with pytest.raises(ValidationFailed, match="someone else"):
        actions.add_coaching(
            db,
            author=team.lead,
            agent=team.other_agent,
            kind=CoachingKind.NOTE,
            body="x",
            review=review,
            clock=clock,
        )
    with pytest.raises(PermissionDenied):
        actions.add_coaching(
            db, author=team.agent, agent=team.other_agent, kind=CoachingKind.NOTE, body="x", clock=clock
        )
    db.commit()
    coaching = queries.coaching_for(db, team.agent.id)
    assert {c.kind for c in coaching} == {CoachingKind.GOAL, CoachingKind.NOTE}
    assert [c.review_id for c in coaching if c.kind is CoachingKind.GOAL] == [review.id]
    assert db.scalars(select(Event).where(Event.type == "qa_coaching_added")).all()


def test_iqs_of_a_team_and_a_site(db: Session, clock: FixedClock) -> None:
    from opsdesk.core import actions as core_actions

    team = build_team(db, clock)
    site = core_actions.create_site(db, name="Dublin QA", timezone="Europe/Dublin")
    team.other_agent.site_id = site.id
    for agent, solution in ((team.agent, 5), (team.other_agent, 1)):
        ticket = worked_ticket(db, clock, team, agents=[agent])
        actions.submit_review(
            db, reviewer=team.reviewer, ticket=ticket, agent=agent, version=team.version,
            ratings=ratings(empathy=None, tone=3, solution=solution, privacy=1), clock=clock,
        )  # fmt: skip
    db.commit()
    # agent: (100*10 + 100*50 + 100*5) / 65 = 100; other: (100*10 + 0*50 + 100*5) / 65 = 23.08
    assert queries.iqs_of(db, team.lead).iqs == pytest.approx((100 + 1500 / 65) / 2)
    clinical = queries.iqs_of(db, team.lead, group_id=team.clinical.id)  # team.agent is in it
    assert (clinical.reviews, clinical.iqs) == (1, pytest.approx(100.0))
    at_site = queries.iqs_of(db, team.lead, site_id=site.id)
    assert (at_site.reviews, at_site.iqs) == (1, pytest.approx(1500 / 65))
    by_agent = queries.iqs_by_agent(db, team.lead)
    assert {a: (q.reviews, round(q.iqs or 0, 2)) for a, q in by_agent.items()} == {
        team.agent.id: (1, 100.0),
        team.other_agent.id: (1, round(1500 / 65, 2)),
    }
    assert queries.iqs_by_agent(db, team.agent) == {team.agent.id: queries.Iqs(reviews=1, iqs=100.0)}
