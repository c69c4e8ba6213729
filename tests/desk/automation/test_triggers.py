"""Triggers run on creation and update, in order, inside the saving transaction: each change names its
rule, loops stop, and a failing rule never blocks the save."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.desk import actions
from opsdesk.desk.automation import rules
from opsdesk.desk.automation.models import Rule, RuleKind
from opsdesk.desk.automation.triggers import DISABLE_AFTER_FAILURES
from opsdesk.desk.models import Message, Priority, Status, Ticket
from tests.desk.automation.helpers import events, new_ticket, people


def test_a_trigger_sets_fields_tags_group_and_replies_naming_itself(db: Session, clock: FixedClock) -> None:
    requester, _agent = people(db, clock)
    rules.create_rule(
        db,
        name="Urgent invoices",
        kind=RuleKind.TRIGGER,
        conditions={
            "all": [
                {"field": "update", "op": "is", "value": "created"},
                {"field": "subject", "op": "contains", "value": "invoice"},
            ],
            "any": [{"field": "organisation.name", "op": "is", "value": "acme"}],
        },
        actions=[
            {"action": "set_field", "field": "priority", "value": "high"},
            {"action": "add_tags", "tags": ["billing"]},
            {"action": "route", "group": "Billing"},
            {
                "action": "reply",
                "template": "Hello {{ requester.first_name }}, we are on ticket {{ ticket.id }}.",
            },
        ],
        actor=None,
        clock=clock,
    )
    db.commit()
    ticket = new_ticket(db, clock, requester, subject="Invoice wrong")
    db.commit()
    db.expire_all()
    stored = db.get_one(Ticket, ticket.id)
    assert stored.priority is Priority.HIGH
    assert stored.tags == ["billing"]
    assert stored.group is not None and stored.group.name == "Billing"
    replies = db.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)).all()
    assert replies[-1].public and replies[-1].body_text == f"Hello Pat, we are on ticket {ticket.id}."
    logged = events(db, ticket.id)
    rule_id = db.scalar(select(Rule.id))
    for type in ("priority_changed", "tags_changed", "group_changed"):
        assert [d.get("rule_id") for t, d in logged if t == type] == [rule_id]
    fired = [d for t, d in logged if t == "automation_rule_fired"]
    assert len(fired) == 1 and [c["action"] for c in fired[0]["changes"]] == [
        "set_field",
        "add_tags",
        "route",
        "reply",
    ]
    # A later update no longer matches (update is "updated"): nothing fires again.
    actions.update_ticket(db, ticket=stored, actor=None, clock=clock, priority=Priority.LOW)
    db.commit()
    assert len(events(db, ticket.id, "automation_rule_fired")) == 1


def test_two_rules_that_undo_each_other_fire_once_each_and_the_save_completes(
    db: Session, clock: FixedClock
) -> None:
    requester, agent = people(db, clock)
    for name, when, to in (("Lower", "high", "low"), ("Raise", "low", "high")):
        rules.create_rule(
            db,
            name=name,
            kind=RuleKind.TRIGGER,
            conditions={"all": [{"field": "priority", "op": "is", "value": when}]},
            actions=[{"action": "set_field", "field": "priority", "value": to}],
            actor=None,
            clock=clock,
        )
    ticket = new_ticket(db, clock, requester)
    db.commit()
    actions.update_ticket(db, ticket=ticket, actor=agent, clock=clock, priority=Priority.HIGH)
    db.commit()
    fired = [d["rule"] for _t, d in events(db, ticket.id, "automation_rule_fired")]
    assert fired == ["Lower", "Raise"]  # each once in the chain, and the chain ended
    db.expire_all()
    assert db.get_one(Ticket, ticket.id).priority is Priority.HIGH
    changes = [(d["from"], d["to"], d.get("rule")) for _t, d in events(db, ticket.id, "priority_changed")]
    assert changes == [("normal", "high", None), ("high", "low", "Lower"), ("low", "high", "Raise")]


def test_a_later_rule_change_sets_off_an_earlier_rule_in_the_next_pass(
    db: Session, clock: FixedClock
) -> None:
    requester, _agent = people(db, clock)
    rules.create_rule(
        db, name="First: tag urgent ones", kind=RuleKind.TRIGGER, position=1,
        conditions={"all": [{"field": "priority", "op": "is", "value": "urgent"}]},
        actions=[{"action": "add_tags", "tags": ["hot"]}], actor=None, clock=clock,
    )  # fmt: skip
    rules.create_rule(
        db, name="Second: VIPs are urgent", kind=RuleKind.TRIGGER, position=2,
        conditions={"all": [{"field": "requester.domain", "op": "is", "value": "acme.test"}]},
        actions=[{"action": "set_field", "field": "priority", "value": "urgent"}], actor=None, clock=clock,
    )  # fmt: skip
    ticket = new_ticket(db, clock, requester)
    db.commit()
    assert [d["rule"] for _t, d in events(db, ticket.id, "automation_rule_fired")] == [
        "Second: VIPs are urgent",
        "First: tag urgent ones",
    ]
    db.expire_all()
    assert db.get_one(Ticket, ticket.id).tags == ["hot"]


def test_a_failing_rule_never_blocks_the_save_and_is_disabled_after_repeated_failures(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    requester, agent = people(db, clock)
    rules.create_rule(
        db, name="Broken", kind=RuleKind.TRIGGER, position=1,
        conditions={"all": [{"field": "status", "op": "is", "value": "open"}]},
        # Escalating to an L1 group is refused by the desk's own checks, every time.
        actions=[
            {"action": "add_tags", "tags": ["tried"]},
            {"action": "escalate", "reason": "x", "group": "Billing"},
        ],
        actor=None, clock=clock,
    )  # fmt: skip
    rules.create_rule(
        db, name="Healthy", kind=RuleKind.TRIGGER, position=2,
        conditions={"all": [{"field": "status", "op": "is", "value": "open"}]},
        actions=[{"action": "add_tags", "tags": ["seen"]}], actor=None, clock=clock,
    )  # fmt: skip
    db.commit()
    tickets = []
    for _ in range(DISABLE_AFTER_FAILURES):
        ticket = new_ticket(db, clock, requester)
        actions.change_status(db, ticket=ticket, to=Status.OPEN, actor=agent, clock=clock)
        db.commit()
        tickets.append(ticket.id)
    with session_factory() as check:
        for ticket_id in tickets:
            stored = check.get_one(Ticket, ticket_id)
            assert stored.status is Status.OPEN  # the person's change was saved
            assert stored.tags == ["seen"]  # the healthy rule ran; the broken one's tag was rolled back
        broken = check.scalar(select(Rule).where(Rule.name == "Broken"))
        assert broken is not None
        assert (
            broken.failures == DISABLE_AFTER_FAILURES and not broken.active and broken.disabled_at is not None
        )
        assert broken.last_error is not None and "not an L2 group" in broken.last_error
        failed = events(check, tickets[0], "automation_rule_failed")
        assert failed[0][1]["rule"] == "Broken" and not failed[0][1]["disabled"]
        assert events(check, tickets[-1], "automation_rule_failed")[0][1]["disabled"]
    # Disabled: the next change no longer tries it.
    ticket = new_ticket(db, clock, requester)
    actions.change_status(db, ticket=ticket, to=Status.OPEN, actor=agent, clock=clock)
    db.commit()
    assert events(db, ticket.id, "automation_rule_failed") == []


def test_a_webhook_action_appends_the_event_the_dispatcher_delivers(db: Session, clock: FixedClock) -> None:
    requester, _agent = people(db, clock)
    rule = rules.create_rule(
        db, name="Tell CRM", kind=RuleKind.TRIGGER,
        conditions={"all": [{"field": "update", "op": "is", "value": "created"}]},
        actions=[{"action": "webhook", "subscription": "crm", "body": {"subject": "{{ ticket.subject }}"}}],
        actor=None, clock=clock,
    )  # fmt: skip
    ticket = new_ticket(db, clock, requester)
    db.commit()
    [(_t, data)] = events(db, ticket.id, "automation_webhook_requested")
    assert data == {
        "rule_id": rule.id,
        "rule": "Tell CRM",
        "subscription": "crm",
        "body": {"subject": "Invoice"},
    }


def test_a_notify_action_reaches_the_agents_notifications_and_a_sensitive_ticket_is_not_quoted(
    db: Session, clock: FixedClock
) -> None:
    from opsdesk.core import actions as core_actions
    from opsdesk.core import notifications
    from opsdesk.core.models import Tier

    requester, agent = people(db, clock)
    clinical = core_actions.create_group(db, name="Clinical", tier=Tier.L1, sensitive_access=True)
    clinical.members.append(agent)
    db.flush()
    rules.create_rule(
        db,
        name="Tell the assignee",
        kind=RuleKind.TRIGGER,
        conditions={"all": [{"field": "update", "op": "is", "value": "created"}]},
        actions=[{"action": "notify", "to": "assignee", "template": "New: {{ ticket.subject }}"}],
        actor=None,
        clock=clock,
    )
    db.commit()
    plain = new_ticket(db, clock, requester, subject="Invoice wrong", assignee=agent)
    secret = new_ticket(db, clock, requester, subject="HIV test result", assignee=agent, sensitive=True)
    db.commit()
    titles = [n.title for n in reversed(notifications.recent(db, agent.id))]
    assert titles == [
        "Tell the assignee: New: Invoice wrong",
        f"Tell the assignee: Ticket #{secret.id} needs you",
    ]
    assert [n.link for n in reversed(notifications.recent(db, agent.id))] == [
        f"/tickets/{plain.id}",
        f"/tickets/{secret.id}",
    ]
