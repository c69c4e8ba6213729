"""Dry run: a rule replayed over the stored event log reports what it would have changed, and what it
reports is what the rule then does once saved, over the same week of work."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, User
from opsdesk.desk import actions
from opsdesk.desk.automation import rules
from opsdesk.desk.automation.dry_run import dry_run
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.models import AuthorKind, Channel, Priority, Status, Ticket
from tests.desk.automation.helpers import new_ticket, people

RULE: dict[str, Any] = {
    "conditions": {
        "all": [{"field": "tags", "op": "excludes", "value": ["refund_flow"]}],
        "any": [
            {"field": "priority", "op": "changed_to", "value": "urgent"},
            {"field": "subject", "op": "contains", "value": "refund"},
            {"field": "status", "op": "changed_from", "value": "pending"},
        ],
    },
    "actions": [
        {"action": "add_tags", "tags": ["refund_flow"]},
        {"action": "route", "group": "Billing"},
        {"action": "set_field", "field": "priority", "value": "high"},
        {"action": "note", "template": "Flagged for {{ requester.first_name }} ({{ ticket.priority }})"},
    ],
}


def play_week(db: Session, clock: FixedClock, requester: User, agent: User) -> tuple[datetime, list[int]]:
    """Seven days of work: four tickets a day, each with its own course (replies, urgency, solving)."""
    start = clock.now()
    created: list[int] = []
    for day in range(7):
        for n in range(4):
            clock.set(start + timedelta(days=day, hours=2 * n, minutes=7))
            subject = "Refund please" if (day + n) % 3 == 0 else f"Question {day}-{n}"
            ticket = new_ticket(db, clock, requester, subject=subject)
            db.commit()
            created.append(ticket.id)
            clock.advance(timedelta(minutes=30))
            actions.add_message(
                db, ticket=ticket, author=agent, author_kind=AuthorKind.AGENT, public=True,
                channel=Channel.EMAIL, clock=clock, body_text="Looking into it",
            )  # fmt: skip
            db.commit()
            if n % 2 == 1:
                clock.advance(timedelta(minutes=20))
                actions.update_ticket(db, ticket=ticket, actor=agent, clock=clock, status=Status.PENDING)
                db.commit()
                clock.advance(timedelta(minutes=20))
                actions.add_message(
                    db, ticket=ticket, author=requester, author_kind=AuthorKind.REQUESTER, public=True,
                    channel=Channel.EMAIL, clock=clock, body_text="Any news?",
                )  # fmt: skip
                db.commit()
            if (day + n) % 4 == 2:
                clock.advance(timedelta(minutes=10))
                actions.update_ticket(db, ticket=ticket, actor=agent, clock=clock, priority=Priority.URGENT)
                db.commit()
            if n == 3:
                clock.advance(timedelta(minutes=10))
                actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
                db.commit()
    clock.set(start + timedelta(days=7))
    return start, created


def _normalised(
    firings: list[tuple[int, timedelta, list[dict[str, Any]]]],
) -> list[tuple[int, timedelta, str]]:
    return sorted((i, offset, json.dumps(changes, sort_keys=True)) for i, offset, changes in firings)


def test_the_dry_run_of_a_week_matches_what_the_saved_rule_then_does(db: Session, clock: FixedClock) -> None:
    requester, agent = people(db, clock)
    db.commit()
    first_start, first_week = play_week(db, clock, requester, agent)

    report = dry_run(
        db, name="Refunds", kind=RuleKind.TRIGGER, once_per_ticket=False, days=7, clock=clock, **RULE
    )
    assert report.tickets_examined == len(first_week)
    predicted = [
        (first_week.index(f["ticket_id"]), f["at"] - first_start, f["changes"]) for f in report.firings
    ]
    assert 0 < report.tickets_changed < len(first_week)
    # Nothing was changed by the dry run.
    assert db.scalar(select(Event.id).where(Event.type == "automation_rule_fired")) is None

    rules.create_rule(db, name="Refunds", kind=RuleKind.TRIGGER, actor=None, clock=clock, **RULE)
    db.commit()
    second_start, second_week = play_week(db, clock, requester, agent)
    fired = db.scalars(
        select(Event).where(Event.type == "automation_rule_fired", Event.subject_id.in_(second_week))
    ).all()
    actual = [(second_week.index(e.subject_id), e.at - second_start, e.data["changes"]) for e in fired]
    assert _normalised(actual) == _normalised(predicted)
    # And the tickets themselves carry the changes the report listed.
    changed = {second_week[i] for i, _o, _c in predicted}
    for ticket_id in second_week:
        ticket = db.get_one(Ticket, ticket_id)
        assert ("refund_flow" in ticket.tags) is (ticket_id in changed)


def test_a_time_rule_dry_run_reports_once_per_ticket(db: Session, clock: FixedClock) -> None:
    requester, agent = people(db, clock)
    db.commit()
    _start, _week = play_week(db, clock, requester, agent)
    report = dry_run(
        db,
        name="Nudge pending",
        kind=RuleKind.TIME,
        conditions={
            "all": [
                {"field": "status", "op": "is", "value": "open"},
                {"field": "hours_since_updated", "op": "gt", "value": 24},
            ]
        },
        actions=[{"action": "add_tags", "tags": ["stale"]}],
        once_per_ticket=True,
        days=7,
        clock=clock,
    )
    ids = [f["ticket_id"] for f in report.firings]
    assert ids and len(ids) == len(set(ids))
    for f in report.firings:
        ticket = db.get_one(Ticket, f["ticket_id"])
        assert ticket.status is Status.OPEN  # the open ones, never the solved ones
        assert f["at"] - ticket.updated_at > timedelta(hours=24)


def test_the_report_leaves_out_what_would_be_written_on_sensitive_tickets(
    db: Session, clock: FixedClock
) -> None:
    requester, _agent = people(db, clock)
    plain = new_ticket(db, clock, requester, subject="Invoice")
    hidden = new_ticket(db, clock, requester, subject="Invoice for my HIV test", sensitive=True)
    db.commit()
    report = dry_run(
        db, name="Echo", kind=RuleKind.TRIGGER, once_per_ticket=False, days=1, clock=clock,
        conditions={"all": [{"field": "update", "op": "is", "value": "created"}]},
        actions=[
            {"action": "add_tags", "tags": ["seen"]},
            {"action": "note", "template": "Re: {{ ticket.subject }}"},
        ],
    )  # fmt: skip
    by_ticket = {f["ticket_id"]: f["changes"] for f in report.firings}
    assert by_ticket[plain.id][1]["text"] == "Re: Invoice"
    assert by_ticket[hidden.id] == [
        {"action": "add_tags", "tags": ["seen"]},
        {"action": "note", "text": "(sensitive ticket: text not shown)"},
    ]
