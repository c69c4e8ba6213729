"""Runs the triggers at the end of every ticket change, inside the change's transaction.

- In order: every active trigger is tested against the ticket as it stands, each seeing what earlier
  ones changed; when any fired, the ones that have not fired are tested again (a pass), so a change a
  later rule makes can still set off an earlier one.
- Loops are impossible: a rule fires at most once per ticket per update chain (the person's change and
  everything rules do because of it), and a chain stops after ``MAX_CHAIN_DEPTH`` passes.
- Isolated: each firing runs in a SAVEPOINT. A rule that raises has its changes rolled back, the error
  recorded (on the rule and as an ``automation_rule_failed`` event), and never blocks the save that set
  it off; after ``DISABLE_AFTER_FAILURES`` failures in a row it is switched off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.config_versions import bump_version
from opsdesk.core.events import append_event
from opsdesk.desk.automation.changes import RULE_CONTEXT, merge, take_changes
from opsdesk.desk.automation.facts import Directory, facts_for, template_context, view_of
from opsdesk.desk.automation.models import Rule, RuleFiring
from opsdesk.desk.automation.plan import plan_actions
from opsdesk.desk.automation.rule_index import TriggerIndex
from opsdesk.desk.automation.snapshot import AUTOMATION_CONFIG, CompiledRule, rule_snapshot
from opsdesk.desk.models import Ticket

MAX_CHAIN_DEPTH = 10
DISABLE_AFTER_FAILURES = 5
FIRED_EVENT = "automation_rule_fired"
FAILED_EVENT = "automation_rule_failed"
STOPPED_EVENT = "automation_chain_stopped"
IN_CHAIN = "opsdesk.automation.in_chain"


def in_chain(session: Session, ticket_id: int) -> bool:
    return ticket_id in session.info.get(IN_CHAIN, ())


def run_triggers(session: Session, *, ticket: Ticket, clock: Clock, update_kind: str) -> None:
    """Called by the desk's actions once a change to ``ticket`` is complete. Inside a rule's own
    actions it does nothing: the chain that is running sees their changes on its next test."""
    if ticket.id is None or in_chain(session, ticket.id):
        return
    triggers = rule_snapshot(session).triggers
    changes = take_changes(session, ticket.id)
    if not triggers:
        return
    run_chain(
        session, ticket=ticket, clock=clock, update_kind=update_kind, changes=changes, triggers=triggers
    )


def run_chain(
    session: Session,
    *,
    ticket: Ticket,
    clock: Clock,
    update_kind: str,
    changes: Mapping[str, tuple[Any, Any]],
    triggers: Sequence[CompiledRule],
    first: Sequence[CompiledRule] = (),
    fired: set[int] | None = None,
    index: TriggerIndex | None = None,
) -> list[int]:
    """One update chain on ``ticket``: the ``first`` rules (the time rules due on it) get one chance,
    then the triggers pass over it until none fires. Returns the ids of the rules that fired."""
    chained: set[int] = session.info.setdefault(IN_CHAIN, set())
    chained.add(ticket.id)
    seen: dict[str, tuple[Any, Any]] = dict(changes)
    fired = fired if fired is not None else set()
    tried: set[int] = set()
    fired_in_order: list[int] = []
    directory = Directory(session)
    try:
        if first:
            for rule in _one_pass(session, ticket, clock, first, "time", seen, tried, directory):
                fired.add(rule)
                fired_in_order.append(rule)
            if not fired_in_order:
                return fired_in_order  # no time rule acted: nothing changed for the triggers to see
            update_kind = "updated"
        for _depth in range(MAX_CHAIN_DEPTH):
            new = _one_pass(session, ticket, clock, triggers, update_kind, seen, tried, directory, index)
            fired.update(new)
            fired_in_order.extend(new)
            if not new:
                return fired_in_order
        append_event(
            session,
            subject_type="ticket",
            subject_id=ticket.id,
            type=STOPPED_EVENT,
            at=clock.now(),
            data={"depth": MAX_CHAIN_DEPTH, "rules": fired_in_order},
        )
        return fired_in_order
    finally:
        chained.discard(ticket.id)


def _one_pass(
    session: Session,
    ticket: Ticket,
    clock: Clock,
    rules: Sequence[CompiledRule],
    update_kind: str,
    seen: dict[str, tuple[Any, Any]],
    tried: set[int],
    directory: Directory,
    index: TriggerIndex | None = None,
) -> list[int]:
    """Test ``rules`` in order (only the index's candidates, when given), firing those that match;
    after a firing the facts are read again and the rest are tested against them."""
    fired: list[int] = []
    facts = None
    queue: list[int] = []
    cursor = 0
    position = 0  # rules before this one have had their chance in this pass
    while True:
        if facts is None:
            facts = facts_for(
                view_of(session, ticket), directory, now=clock.now(), update=update_kind, changes=seen
            )
            every = index.candidates(facts) if index is not None else range(len(rules))
            queue = [p for p in every if p >= position]
            cursor = 0
        if cursor >= len(queue):
            return fired
        rule = rules[queue[cursor]]
        position = queue[cursor] + 1
        cursor += 1
        if rule.id in tried:
            continue
        try:
            matched = rule.matches(facts)
            planned = (
                plan_actions(rule.actions, facts, template_context(facts, rule=rule.name)) if matched else []
            )
        except Exception as exc:  # a rule's own fault (a template, odd data): recorded, never raised
            tried.add(rule.id)
            record_failure(session, rule=rule, ticket_id=ticket.id, error=exc, clock=clock)
            continue
        if not planned:
            continue
        tried.add(rule.id)
        if fire(session, ticket=ticket, rule=rule, planned=planned, clock=clock):
            fired.append(rule.id)
            merge(seen, take_changes(session, ticket.id))
            facts = None


def fire(
    session: Session, *, ticket: Ticket, rule: CompiledRule, planned: list[dict[str, Any]], clock: Clock
) -> bool:
    """Carry out one rule's plan in a SAVEPOINT; False (and the failure recorded) when it raised."""
    from opsdesk.desk.automation.execute import carry_out  # it acts through desk.actions, which calls us

    origin = {"rule_id": rule.id, "rule": rule.name}
    session.info[RULE_CONTEXT] = origin
    try:
        with session.begin_nested():
            carry_out(session, ticket=ticket, planned=planned, actor=None, clock=clock, origin=origin)
            append_event(
                session,
                subject_type="ticket",
                subject_id=ticket.id,
                type=FIRED_EVENT,
                at=clock.now(),
                data={**origin, "kind": rule.kind.value, "changes": planned},
            )
            if rule.once_per_ticket:
                session.add(RuleFiring(rule_id=rule.id, ticket_id=ticket.id, at=clock.now()))
            session.flush()
    except Exception as exc:
        session.info.pop(RULE_CONTEXT, None)
        take_changes(session, ticket.id)  # what the rolled-back actions reported never happened
        record_failure(session, rule=rule, ticket_id=ticket.id, error=exc, clock=clock)
        return False
    finally:
        session.info.pop(RULE_CONTEXT, None)
    session.execute(
        update(Rule)
        .where(Rule.id == rule.id, Rule.failures > 0)
        .values(failures=0)
        .execution_options(synchronize_session=False)
    )
    return True


def record_failure(
    session: Session, *, rule: CompiledRule, ticket_id: int, error: BaseException, clock: Clock
) -> None:
    """Count the failure on the rule (in the saving transaction) and switch the rule off at the limit."""
    message = f"{type(error).__name__}: {error}"[:2000]
    row = session.get(Rule, rule.id, populate_existing=True)
    if row is None:
        return
    row.failures += 1
    row.last_error = message
    disabled = row.active and row.failures >= DISABLE_AFTER_FAILURES
    if disabled:
        row.active = False
        row.disabled_at = clock.now()
        bump_version(session, AUTOMATION_CONFIG)
    append_event(
        session,
        subject_type="ticket",
        subject_id=ticket_id,
        type=FAILED_EVENT,
        at=clock.now(),
        data={
            "rule_id": rule.id,
            "rule": rule.name,
            "error": message,
            "failures": row.failures,
            "disabled": disabled,
        },
    )
