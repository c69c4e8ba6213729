"""The periodic SLA check as the job runner calls it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.jobs.models import JobRow
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel, Status
from opsdesk.desk.sla import actions
from opsdesk.desk.sla.jobs import CHECK_EVERY, CHECK_NAME, REFRESH_NAME
from tests.factories import make_user


def test_the_periodic_check_records_a_breach_once(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    load_job_modules()
    assert registry.periodics[CHECK_NAME].every == CHECK_EVERY
    actions.create_sla_policy(
        db, name="Default", targets={"normal": {"first_reply": 30}}, actor=None, clock=clock
    )
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    desk.create_ticket(
        db, requester=requester, subject="Help", body_text="Please", channel=Channel.WEB, clock=clock
    )
    db.commit()
    clock.advance(timedelta(minutes=31))
    context = JobContext(session_factory, clock, settings, CHECK_NAME, job_id="1", attempt=1, key=None)
    handler = registry.jobs[CHECK_NAME].handler
    handler(context, {})
    handler(context, {})  # a redelivery
    count = db.scalar(select(func.count()).select_from(Event).where(Event.type == "sla_breached"))
    assert count == 1


def test_a_policy_change_refreshes_tickets_in_flight(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    tickets = [
        desk.create_ticket(
            db, requester=requester, subject=f"T{i}", body_text="x", channel=Channel.WEB, clock=clock
        )
        for i in range(3)
    ]
    desk.change_status(db, ticket=tickets[2], to=Status.SOLVED, actor=None, clock=clock)
    db.commit()
    assert [t.sla_next_due_at for t in tickets] == [None, None, None]  # no policy yet

    policy = actions.create_sla_policy(
        db, name="Default", targets={"normal": {"first_reply": 30}}, actor=None, clock=clock
    )
    db.commit()
    queued = db.scalars(select(JobRow.name).where(JobRow.name == REFRESH_NAME)).all()
    assert queued == [REFRESH_NAME]

    context = JobContext(session_factory, clock, settings, REFRESH_NAME, job_id="2", attempt=1, key=None)
    registry.jobs[REFRESH_NAME].handler(context, {})
    db.expire_all()
    due = clock.now() + timedelta(minutes=30)
    assert [t.sla_next_due_at for t in tickets] == [due, due, None]  # the solved one has nothing due

    actions.update_sla_policy(
        db, policy=policy, targets={"normal": {"first_reply": 90}}, actor=None, clock=clock
    )
    db.commit()
    registry.jobs[REFRESH_NAME].handler(context, {})
    db.expire_all()
    assert tickets[0].sla_next_due_at == clock.now() + timedelta(minutes=90)
