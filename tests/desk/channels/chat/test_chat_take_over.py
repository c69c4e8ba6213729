"""Taking a chat assigns its ticket at once and leaves the SLA refresh and the triggers to a job queued
in the same transaction: the job survives a restart, ends where the inline assignment ends, and a
redelivery fires nothing twice."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.jobs import DatabaseQueue, Worker
from opsdesk.core.jobs.models import JobRow
from opsdesk.core.models import Event, Role, Tier
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.automation import rules
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.channels.chat import actions
from opsdesk.desk.models import Ticket
from opsdesk.desk.take_over import FOLLOW_UP_JOB, follow_up
from tests.desk.channels.chat.helpers import start
from tests.factories import make_user


def _events(db: Session, ticket_id: int, type: str) -> list[Event]:
    query = select(Event).where(
        Event.subject_type == "ticket", Event.subject_id == ticket_id, Event.type == type
    )
    return list(db.scalars(query.order_by(Event.id)))


def _follow_ups(db: Session) -> list[JobRow]:
    return list(db.scalars(select(JobRow).where(JobRow.name == FOLLOW_UP_JOB)))


def test_a_take_over_follow_up_runs_after_a_restart_once_and_ends_as_inline_assignment(
    db: Session, clock: FixedClock, engine: Engine, settings: Settings
) -> None:
    load_job_modules()
    agent = make_user(db, clock, Role.AGENT, tier=Tier.L1)
    rules.create_rule(
        db,
        name="Taken",
        kind=RuleKind.TRIGGER,
        conditions={"all": [{"field": "assignee_id", "op": "changed"}]},
        actions=[{"action": "add_tags", "tags": ["taken"]}],
        actor=None,
        clock=clock,
    )
    db.commit()
    inline = start(db, clock).conversation.ticket
    desk_actions.assign(db, ticket=inline, assignee=agent, actor=agent, clock=clock)
    conversation = start(db, clock).conversation
    assert actions.join_chat(db, conversation=conversation, agent=agent, clock=clock)
    db.commit()
    ticket_id = conversation.ticket_id

    # Committed: the assignment, its events and the job; the triggers have not run yet.
    db.expire_all()
    taken = db.get_one(Ticket, ticket_id)
    assert taken.assignee_id == agent.id and taken.tags == []
    assert [e.data["to_assignee_id"] for e in _events(db, ticket_id, "assigned")] == [agent.id]
    assert len(_events(db, ticket_id, "chat_agent_joined")) == 1
    [row] = _follow_ups(db)
    db.rollback()

    # A restart: a new engine and worker find the job in the database and run it.
    restarted = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        factory = make_session_factory(restarted)
        worker = Worker(
            DatabaseQueue(factory, clock), session_factory=factory, clock=clock, settings=settings
        )
        assert worker.drain() >= 1
    finally:
        restarted.dispose()
    db.expire_all()
    taken = db.get_one(Ticket, ticket_id)
    assert taken.tags == ["taken"] == db.get_one(Ticket, inline.id).tags
    assert taken.sla_next_due_at == db.get_one(Ticket, inline.id).sla_next_due_at
    assert len(_events(db, ticket_id, "automation_rule_fired")) == 1

    # Delivered again (a worker killed after its commit): the claim stops a second firing.
    assert follow_up(db, dict(row.payload), clock=clock) is False
    db.commit()
    assert len(_events(db, ticket_id, "automation_rule_fired")) == 1
    assert db.get_one(Ticket, ticket_id).tags == ["taken"]


def test_the_agent_who_has_the_ticket_joins_without_a_second_assignment(
    db: Session, clock: FixedClock
) -> None:
    agent = make_user(db, clock, Role.AGENT, tier=Tier.L1)
    conversation = start(db, clock).conversation
    desk_actions.assign(db, ticket=conversation.ticket, assignee=agent, actor=agent, clock=clock)
    db.commit()
    assert actions.join_chat(db, conversation=conversation, agent=agent, clock=clock)
    db.commit()
    assert len(_events(db, conversation.ticket_id, "assigned")) == 1
    assert len(_events(db, conversation.ticket_id, "chat_agent_joined")) == 1
    assert _follow_ups(db) == []
    assert not actions.join_chat(db, conversation=conversation, agent=agent, clock=clock)
