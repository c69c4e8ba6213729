"""The periodic scoring job, run as a worker would run it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.settings import Settings
from opsdesk.success.health.jobs import SCORE_NAME, score_all
from opsdesk.success.health.models import HealthScore
from tests.success.health.test_actions import book


def test_the_job_scores_today_and_a_redelivery_replaces_it(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    book(db, clock)
    db.commit()
    spec = registry.spec(SCORE_NAME)
    assert spec is not None
    ctx = JobContext(session_factory, clock, settings, SCORE_NAME, "job-1", 1, None)
    score_all(ctx, {})
    score_all(ctx, {})  # at-least-once delivery
    clock.advance(timedelta(days=1))
    score_all(ctx, {})
    db.rollback()
    days = db.scalars(select(HealthScore.scored_on).order_by(HealthScore.scored_on)).all()
    assert [d.isoformat() for d in days] == ["2026-03-02", "2026-03-03"]
    assert db.scalar(select(func.count()).select_from(HealthScore)) == 2
