"""An agent taking a ticket on a hot path (accepting a chat): the assignment and its event now, the
follow-up a ticket change has (the SLA tracker's due times, the triggers) by a job just after.

``actions.assign`` does all of it inside the change's transaction. When hundreds of chats are taken
within seconds that follow-up, and the unit-of-work flushes around it, are most of what the take-over
costs, and it is paid while the chat's messages wait behind it. Here the take-over writes the ticket's
assignee (flushed with the caller's next flush), its ``assigned`` event in one INSERT, and a job row,
all in the caller's transaction: the job is as durable as the assignment (committed together, run after
a restart, redelivered after a crash). The job runs the trigger chain with the change as the inline
path would see it (``assignee_id`` from, to) and recomputes the SLA due times. It claims its effect in
its own transaction, so a redelivered job fires nothing twice.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict
from opsdesk.core.events import new_event, write_events
from opsdesk.core.jobs import claim_effect, enqueue
from opsdesk.core.models import Event, User
from opsdesk.desk.actions import check_assignee
from opsdesk.desk.automation.changes import changes_of
from opsdesk.desk.automation.snapshot import rule_snapshot
from opsdesk.desk.automation.triggers import run_chain
from opsdesk.desk.models import Status, Ticket
from opsdesk.desk.sla.tracking import refresh_ticket_sla

FOLLOW_UP_JOB = "desk.take_over_follow_up"


def take_over(session: Session, *, ticket: Ticket, agent: User, clock: Clock, also: list[Event]) -> None:
    """Assign ``ticket`` to ``agent`` (who does not have it) and queue the follow-up; ``also`` are the
    caller's own held events, written in the same INSERT after ``assigned``."""
    if ticket.status is Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed", field="status")
    check_assignee(ticket, agent)
    now = clock.now()
    before_id = ticket.assignee_id
    ticket.assignee = agent
    if agent.site_id is not None:
        ticket.site_id = agent.site_id
    ticket.updated_at = now
    data = {"from_assignee_id": before_id, "to_assignee_id": agent.id, "group_id": ticket.group_id}
    assigned = new_event(
        subject_type="ticket", subject_id=ticket.id, type="assigned", at=now, actor=agent, data=data
    )
    write_events(session, [assigned, *also])
    claim = secrets.token_hex(12)
    changes = {field: list(pair) for field, pair in changes_of("assigned", data).items()}
    payload = {"ticket_id": ticket.id, "changes": changes, "claim": claim}
    enqueue(session, FOLLOW_UP_JOB, payload, clock=clock, key=f"{FOLLOW_UP_JOB}:{claim}")


def follow_up(session: Session, payload: dict[str, Any], *, clock: Clock) -> bool:
    """The take-over's SLA refresh and trigger chain; False when it had already run (a redelivery) or
    the ticket is gone."""
    if not claim_effect(session, f"{FOLLOW_UP_JOB}:{payload['claim']}", clock=clock):
        return False
    ticket = session.get(Ticket, int(payload["ticket_id"]))
    if ticket is None:
        return False
    refresh_ticket_sla(session, ticket=ticket, clock=clock)
    triggers = rule_snapshot(session).triggers
    if triggers and ticket.status is not Status.CLOSED:
        changes = {field: (pair[0], pair[1]) for field, pair in payload["changes"].items()}
        run_chain(
            session, ticket=ticket, clock=clock, update_kind="updated", changes=changes, triggers=triggers
        )
    return True
