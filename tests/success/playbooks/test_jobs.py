"""The hourly playbook job, run as a worker would run it (at-least-once delivery)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.settings import Settings
from opsdesk.success.playbooks import actions
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.jobs import RUN_EVERY, RUN_NAME, run_all
from opsdesk.success.playbooks.models import Task, TriggerKind
from tests.success.playbooks.test_engine import book


def test_redelivered_job_fires_each_episode_once(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    book(db, clock)
    actions.create_playbook(
        db,
        name="Renewal 90",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 90},
        templates=[TemplateSpec(title="Call")],
        clock=clock,
    )
    db.commit()
    assert registry.spec(RUN_NAME) is not None and registry.periodics[RUN_NAME].every == RUN_EVERY
    ctx = JobContext(session_factory, clock, settings, RUN_NAME, "job-1", 1, None)
    run_all(ctx, {})
    run_all(ctx, {})
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Task)) == 1
