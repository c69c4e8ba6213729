"""The demo organisation shows QA at work: a rubric, weeks of reviews, a revealed calibration session,
disputes in every state and coaching."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, User
from opsdesk.demo.loader import load_demo
from opsdesk.quality import calibration, queries
from opsdesk.quality.models import CalibrationSession, Coaching, Dispute, DisputeStatus, Review, RubricVersion


def test_the_demo_has_a_qa_team_at_work(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory,
        clock=clock,
        organisations=60,
        tickets_per_day=15,
        history_days=28,
        success_accounts=20,
    )
    assert counts["QA reviews"] > 20
    assert db.scalar(select(func.count()).select_from(RubricVersion)) == 1
    reviews = db.scalars(select(Review).where(Review.calibration_session_id.is_(None))).all()
    weeks = {r.created_at.isocalendar()[1] for r in reviews}
    assert len(weeks) >= 3 and all(r.created_at <= clock.now() for r in reviews)
    statuses = {d.status for d in db.scalars(select(Dispute))}
    assert statuses == {DisputeStatus.OPEN, DisputeStatus.ACCEPTED, DisputeStatus.REJECTED}
    assert db.scalar(select(func.count()).select_from(Coaching))
    lead = db.scalars(select(User).where(User.role == Role.QA_LEAD)).one()
    session = db.scalars(select(CalibrationSession)).one()
    results = calibration.results(db, session, lead)
    assert results["revealed"] and results["items"][0]["agreed_score"] == 80.0
    overall = queries.iqs_of(db, lead)
    assert overall.iqs is not None and 0 < overall.iqs <= 100
    assert [d.id for d in queries.open_disputes(db, lead)]
