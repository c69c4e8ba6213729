"""The desk's periodic auto-close as the job runner calls it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.jobs import AUTO_CLOSE_EVERY, AUTO_CLOSE_NAME
from opsdesk.desk.models import Channel, Status, Ticket
from tests.factories import make_user


def test_solved_tickets_close_after_the_configured_days_once(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    load_job_modules()
    assert registry.periodics[AUTO_CLOSE_NAME].every == AUTO_CLOSE_EVERY
    settings = settings.model_copy(update={"auto_close_days": 4})
    requester = make_user(db, clock, Role.REQUESTER, email="req@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    old = actions.create_ticket(
        db, requester=requester, subject="Old", body_text="a", channel=Channel.WEB, clock=clock
    )
    actions.change_status(db, ticket=old, to=Status.SOLVED, actor=agent, clock=clock)
    clock.advance(timedelta(days=2))
    recent = actions.create_ticket(
        db, requester=requester, subject="Recent", body_text="b", channel=Channel.WEB, clock=clock
    )
    actions.change_status(db, ticket=recent, to=Status.SOLVED, actor=agent, clock=clock)
    db.commit()
    clock.advance(timedelta(days=2, minutes=1))
    context = JobContext(session_factory, clock, settings, AUTO_CLOSE_NAME, job_id="1", attempt=1, key=None)
    handler = registry.jobs[AUTO_CLOSE_NAME].handler
    handler(context, {})
    handler(context, {})  # a redelivery closes nothing twice
    db.expire_all()
    assert db.get_one(Ticket, old.id).status is Status.CLOSED
    assert db.get_one(Ticket, recent.id).status is Status.SOLVED
    closes = db.scalar(select(func.count()).select_from(Event).where(Event.type == "auto_closed"))
    assert closes == 1
