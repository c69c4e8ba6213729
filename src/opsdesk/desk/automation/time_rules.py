"""Time rules: every few minutes, each ticket not yet closed is tested against the active time rules
(hours since created, updated, pending or solved, hours until an SLA breach). A time rule that fires
starts an update chain, so the triggers see its change as they see a person's.

A once-per-ticket rule is remembered per ticket (``RuleFiring``) and never fires on it again; every
other time rule was checked on save to make its own conditions false when it acts
(``automation.validation``), so it cannot fire on the same ticket run after run.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.desk.automation.models import RuleFiring
from opsdesk.desk.automation.snapshot import rule_snapshot
from opsdesk.desk.automation.triggers import run_chain
from opsdesk.desk.models import Status, Ticket

TIME_RULES_EVERY = timedelta(minutes=5)
BATCH = 500


def run_time_rules(
    session: Session, *, clock: Clock, after_id: int = 0, limit: int = BATCH
) -> tuple[int, int | None]:
    """Test one batch of tickets (ids above ``after_id``); returns how many rules fired and the last
    ticket id of the batch (None when there are no more), so a job commits batch by batch."""
    snapshot = rule_snapshot(session)
    if not snapshot.time_rules:
        return 0, None
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.status != Status.CLOSED, Ticket.id > after_id)
            .order_by(Ticket.id)
            .limit(limit)
        )
    )
    if not tickets:
        return 0, None
    once_ids = [r.id for r in snapshot.time_rules if r.once_per_ticket]
    done: set[tuple[int, int]] = set()
    if once_ids:
        done = {
            (rule_id, ticket_id)
            for rule_id, ticket_id in session.execute(
                select(RuleFiring.rule_id, RuleFiring.ticket_id).where(
                    RuleFiring.rule_id.in_(once_ids),
                    RuleFiring.ticket_id.between(tickets[0].id, tickets[-1].id),
                )
            )
        }
    fired = 0
    for ticket in tickets:
        due = tuple(r for r in snapshot.time_rules if (r.id, ticket.id) not in done)
        if not due:
            continue
        fired += len(
            run_chain(
                session,
                ticket=ticket,
                clock=clock,
                update_kind="time",
                changes={},
                triggers=snapshot.triggers,
                index=snapshot.trigger_index,
                first=due,
            )
        )
    return fired, tickets[-1].id
