"""Time rules: run every few minutes by a job, refused on save unless they falsify their own condition
or fire once per ticket, and a once-per-ticket rule never fires twice on a ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.jobs import JobContext
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.automation import rules
from opsdesk.desk.automation.jobs import time_rules
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.automation.time_rules import TIME_RULES_EVERY, run_time_rules
from opsdesk.desk.models import Status, Ticket
from tests.desk.automation.helpers import events, new_ticket, people

STALE = {
    "all": [
        {"field": "status", "op": "is", "value": "pending"},
        {"field": "hours_since_pending", "op": "gt", "value": 48},
    ]
}


def test_a_time_rule_that_would_fire_for_ever_is_refused_naming_the_field(
    db: Session, clock: FixedClock
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rules.create_rule(
            db, name="Nag", kind=RuleKind.TIME, conditions=STALE,
            actions=[{"action": "note", "template": "Still waiting"}], actor=None, clock=clock,
        )  # fmt: skip
    assert refused.value.field == "once_per_ticket"
    with pytest.raises(ValidationFailed) as no_time:
        rules.create_rule(
            db, name="No time", kind=RuleKind.TIME,
            conditions={"all": [{"field": "status", "op": "is", "value": "open"}]},
            actions=[{"action": "add_tags", "tags": ["x"]}], actor=None, clock=clock, once_per_ticket=True,
        )  # fmt: skip
    assert no_time.value.field == "conditions.all"
    # Accepted: it solves the ticket (its condition "pending" is then false) ...
    rules.create_rule(
        db, name="Close abandoned", kind=RuleKind.TIME, conditions=STALE,
        actions=[{"action": "set_field", "field": "status", "value": "solved"}], actor=None, clock=clock,
    )  # fmt: skip
    # ... it adds the tag its conditions exclude ...
    rules.create_rule(
        db, name="Remind once", kind=RuleKind.TIME,
        conditions={"all": [*STALE["all"], {"field": "tags", "op": "excludes", "value": ["reminded"]}]},
        actions=[{"action": "add_tags", "tags": ["reminded"]}, {"action": "reply", "template": "Any news?"}],
        actor=None, clock=clock,
    )  # fmt: skip
    # ... or it is once per ticket.
    rules.create_rule(
        db, name="Note once", kind=RuleKind.TIME, conditions=STALE, once_per_ticket=True,
        actions=[{"action": "note", "template": "Waiting two days"}], actor=None, clock=clock,
    )  # fmt: skip


def test_the_job_fires_a_once_per_ticket_rule_once_and_self_falsifying_rules_stop(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    requester, agent = people(db, clock)
    rules.create_rule(
        db, name="Note once", kind=RuleKind.TIME, conditions=STALE, once_per_ticket=True, position=1,
        actions=[{"action": "note", "template": "Waiting on {{ requester.first_name }} for two days"}],
        actor=None, clock=clock,
    )  # fmt: skip
    rules.create_rule(
        db, name="Escalate stale", kind=RuleKind.TIME, position=2,
        conditions={"all": [*STALE["all"], {"field": "priority", "op": "is_not", "value": "high"}]},
        actions=[{"action": "set_field", "field": "priority", "value": "high"}], actor=None, clock=clock,
    )  # fmt: skip
    rules.create_rule(
        db, name="Trigger on priority", kind=RuleKind.TRIGGER,
        conditions={"all": [{"field": "priority", "op": "changed_to", "value": "high"}]},
        actions=[{"action": "add_tags", "tags": ["stale_escalated"]}], actor=None, clock=clock,
    )  # fmt: skip
    waiting = new_ticket(db, clock, requester)
    actions.update_ticket(db, ticket=waiting, actor=agent, clock=clock, status=Status.PENDING)
    fresh = new_ticket(db, clock, requester)
    db.commit()
    context = JobContext(
        session_factory=session_factory,
        clock=clock,
        settings=settings,
        name="t",
        job_id="1",
        attempt=1,
        key=None,
    )
    time_rules(context, {})
    assert events(db, waiting.id, "automation_rule_fired") == []  # not two days yet
    clock.advance(timedelta(hours=49))
    for _run in range(5):  # runs every few minutes
        time_rules(context, {})
        clock.advance(TIME_RULES_EVERY)
    fired = [d["rule"] for _t, d in events(db, waiting.id, "automation_rule_fired")]
    assert fired == ["Note once", "Escalate stale", "Trigger on priority"]
    assert events(db, fresh.id, "automation_rule_fired") == []
    db.expire_all()
    assert db.get_one(Ticket, waiting.id).tags == ["stale_escalated"]
    with session_factory() as check:
        assert run_time_rules(check, clock=clock) == (0, waiting.id if waiting.id > fresh.id else fresh.id)
