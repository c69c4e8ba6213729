"""Calibration: blind until every participant has submitted, then agreement, outliers and the agreed
score; calibration reviews never count towards IQS."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.models import Role
from opsdesk.quality import actions, calibration, queries
from tests.factories import make_user
from tests.quality.world import build_team, ratings, worked_ticket


def test_blind_then_revealed_with_agreement_and_kept_out_of_iqs(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    third = make_user(db, clock, Role.QA_REVIEWER, email="third@qa.test", password=None)
    first_ticket = worked_ticket(db, clock, team, agents=[team.agent], subject="One")
    second_ticket = worked_ticket(db, clock, team, agents=[team.agent], subject="Two")
    reviewers = [team.reviewer, team.clinical_reviewer, third]
    session = actions.create_calibration(
        db,
        lead=team.lead,
        name="March week 1",
        version=team.version,
        reviewers=reviewers,
        items=[(first_ticket, team.agent), (second_ticket, team.agent)],
        clock=clock,
    )
    db.commit()
    # Scores: (empathy x20, tone x10, solution x50, privacy x5) / 85
    given = {
        team.reviewer.id: [
            ratings(empathy=3, tone=3, solution=4, privacy=1),
            ratings(empathy=3, tone=3, solution=4, privacy=1),
        ],
        team.clinical_reviewer.id: [
            ratings(empathy=4, tone=3, solution=4, privacy=1),
            ratings(empathy=3, tone=2, solution=4, privacy=1),
        ],
        third.id: [
            ratings(empathy=1, tone=1, solution=1, privacy=1),
            ratings(empathy=3, tone=3, solution=4, privacy=1),
        ],
    }
    by_id = {r.id: r for r in reviewers}
    for number, reviewer_id in enumerate(given):
        for ticket, values in zip([first_ticket, second_ticket], given[reviewer_id], strict=True):
            if number == 2 and ticket is second_ticket:
                continue  # the third reviewer has one left
            actions.submit_review(
                db,
                reviewer=by_id[reviewer_id],
                ticket=ticket,
                agent=team.agent,
                version=team.version,
                ratings=values,
                calibration=session,
                clock=clock,
            )
    db.commit()
    blind = calibration.results(db, session, team.reviewer)
    assert blind["revealed"] is False and "items" not in blind
    assert blind["submitted"] == {team.reviewer.id: 2, team.clinical_reviewer.id: 2, third.id: 1}
    own = blind["own_reviews"][0]
    assert queries.review_for(db, own, team.reviewer, clock).reviewer_id == team.reviewer.id
    others = [r for r in calibration.results(db, session, team.clinical_reviewer)["own_reviews"]]
    with pytest.raises(NotFound):
        queries.review_for(db, others[0], team.reviewer, clock)
    with pytest.raises(Conflict):
        actions.set_agreed_score(
            db,
            item=session.items[0],
            lead=team.lead,
            score=90,
            revealed=calibration.revealed(db, session.id),
            clock=clock,
        )

    actions.submit_review(
        db,
        reviewer=third,
        ticket=second_ticket,
        agent=team.agent,
        version=team.version,
        ratings=given[third.id][1],
        calibration=session,
        clock=clock,
    )
    db.commit()
    shown = calibration.results(db, session, team.lead)
    assert shown["revealed"] is True
    first, second = shown["items"]
    # Item one: (66.67*20+100*10+75*50+100*5)/85 = 77.45, (100*20+100*10+75*50+100*5)/85 = 85.29,
    # and 5*100/85 = 5.88 (privacy only).
    assert first["scores"] == {
        team.reviewer.id: pytest.approx(6583.333 / 85),
        team.clinical_reviewer.id: pytest.approx(7250 / 85),
        third.id: pytest.approx(500 / 85),
    }
    assert first["outliers"] == [third.id]
    assert first["within_10"] == pytest.approx(1 / 3)  # 77.45 vs 85.29 only
    # Item two: 77.45, 77.45 - 50*10/85 = 71.57, 77.45: pairs 5.9, 0, 5.9 apart: all within 10.
    assert second["within_10"] == pytest.approx(1.0)
    assert shown["overall"]["within_10"] == pytest.approx(4 / 6)
    assert shown["overall"]["alpha_interval"] is not None and shown["overall"]["alpha_interval"] < 0.5
    assert set(shown["categories"]) == {"empathy", "tone", "solution", "privacy"}
    assert shown["categories"]["privacy"]["alpha_interval"] is None  # everyone said yes: no variation
    assert shown["outliers"] == [third.id]
    actions.set_agreed_score(db, item=session.items[0], lead=team.lead, score=90, revealed=True, clock=clock)
    db.commit()
    assert calibration.results(db, session, team.lead)["items"][0]["agreed_score"] == 90
    assert queries.iqs_of(db, team.lead, agent_id=team.agent.id).reviews == 0
    assert queries.reviews(db, team.agent, agent_id=team.agent.id) == []


def test_only_participants_rate_and_only_what_they_may_read(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    outsider = make_user(db, clock, Role.QA_REVIEWER, email="out@qa.test", password=None)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    secret = worked_ticket(db, clock, team, agents=[team.agent], sensitive=True)
    with pytest.raises(ValidationFailed, match="may not review every conversation"):
        actions.create_calibration(
            db,
            lead=team.lead,
            name="x",
            version=team.version,
            reviewers=[team.reviewer, team.clinical_reviewer],
            items=[(secret, team.agent)],
            clock=clock,
        )
    with pytest.raises(PermissionDenied):
        actions.create_calibration(
            db,
            lead=team.reviewer,
            name="x",
            version=team.version,
            reviewers=[team.reviewer, outsider],
            items=[(ticket, team.agent)],
            clock=clock,
        )
    session = actions.create_calibration(
        db,
        lead=team.lead,
        name="x",
        version=team.version,
        reviewers=[team.reviewer, team.clinical_reviewer],
        items=[(ticket, team.agent)],
        clock=clock,
    )
    with pytest.raises(PermissionDenied, match="not in this calibration"):
        actions.submit_review(
            db,
            reviewer=outsider,
            ticket=ticket,
            agent=team.agent,
            version=team.version,
            ratings=ratings(empathy=4, tone=3, solution=5, privacy=1),
            calibration=session,
            clock=clock,
        )
    with pytest.raises(NotFound):
        calibration.calibration_for(db, session.id, outsider)
    assert calibration.calibration_for(db, session.id, team.reviewer) is session
