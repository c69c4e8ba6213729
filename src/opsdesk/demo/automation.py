"""The demo desk's automation in use: triggers and time rules a head of support would keep (renewal
customers first, refunds to billing, chats acknowledged, stale pending tickets closed), shared and
personal macros with their usage, and the customer-success attributes the rules read. Tickets carry
the automation events because the rules really ran: the day's last tickets arrive through the desk's
own actions, the time rules run once at "now", and agents apply macros to open tickets."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Organisation, Role, User
from opsdesk.desk import actions
from opsdesk.desk.automation import macros, rules
from opsdesk.desk.automation.models import Macro, RuleKind
from opsdesk.desk.automation.time_rules import run_time_rules
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from opsdesk.success.published import publish_all

L2_GROUP = "L2 Support Engineers"

RULES: list[dict[str, object]] = [
    {
        "name": "Renewal customers jump the queue",
        "kind": RuleKind.TRIGGER,
        "position": 10,
        "conditions": {
            "all": [{"field": "update", "op": "is", "value": "created"}],
            "any": [
                {"field": "organisation.attributes.lifecycle_stage", "op": "is", "value": "renewal"},
                {"field": "organisation.attributes.health_band", "op": "is", "value": "red"},
            ],
        },
        "actions": [
            {"action": "set_field", "field": "priority", "value": "high"},
            {"action": "add_tags", "tags": ["at_risk_customer"]},
        ],
    },
    {
        "name": "Refunds and invoices to billing",
        "kind": RuleKind.TRIGGER,
        "position": 20,
        "conditions": {
            "all": [{"field": "tags", "op": "excludes", "value": ["billing"]}],
            "any": [
                {"field": "subject", "op": "contains", "value": "refund"},
                {"field": "subject", "op": "contains", "value": "invoice"},
            ],
        },
        "actions": [{"action": "add_tags", "tags": ["billing"]}],
    },
    {
        "name": "Acknowledge new email",
        "kind": RuleKind.TRIGGER,
        "position": 30,
        "conditions": {
            "all": [
                {"field": "update", "op": "is", "value": "created"},
                {"field": "channel", "op": "is", "value": "email"},
            ]
        },
        "actions": [
            {
                "action": "reply",
                "template": "Hi {{ requester.first_name }}, thanks for writing to us: your request is "
                "ticket #{{ ticket.id }} and an advocate will answer shortly.",
            }
        ],
    },
    {
        "name": "Outages go to L2",
        "kind": RuleKind.TRIGGER,
        "position": 40,
        "conditions": {
            "all": [
                {"field": "subject", "op": "contains", "value": "outage"},
                {"field": "tier", "op": "is", "value": "L1"},
            ]
        },
        "actions": [
            {"action": "set_field", "field": "priority", "value": "urgent"},
            {"action": "escalate", "reason": "Reported outage: engineering investigates", "group": L2_GROUP},
            {"action": "webhook", "subscription": "status-page", "body": {"ticket": "{{ ticket.id }}"}},
        ],
    },
    {
        "name": "Close abandoned pending tickets",
        "kind": RuleKind.TIME,
        "position": 10,
        "conditions": {
            "all": [
                {"field": "status", "op": "is", "value": "pending"},
                {"field": "hours_since_pending", "op": "gt", "value": 96},
            ]
        },
        "actions": [
            {"action": "set_field", "field": "status", "value": "solved"},
            {"action": "note", "template": "Solved by automation: no answer from the customer in four days."},
        ],
    },
    {
        "name": "Nudge open tickets left a day",
        "kind": RuleKind.TIME,
        "position": 20,
        "once_per_ticket": True,
        "conditions": {
            "all": [
                {"field": "status", "op": "is", "value": "open"},
                {"field": "hours_since_updated", "op": "gt", "value": 24},
            ]
        },
        "actions": [
            {"action": "notify", "to": "group", "template": "Ticket #{{ ticket.id }} waits since a day"}
        ],
    },
]

SUBJECTS = [
    "Refund for a double charge",
    "Invoice address is wrong",
    "Members cannot log in",
    "Partial outage of the app",
    "Question about covered lives",
    "How do I add a dependant?",
]


def create_automation_demo(
    session: Session, *, rng: np.random.Generator, now: datetime, admin: User
) -> dict[str, int]:
    clock = FixedClock(now)
    published = publish_all(session, clock=clock)
    for spec in RULES:
        rules.create_rule(session, actor=admin, clock=clock, **spec)  # type: ignore[arg-type]
    agents = list(
        session.scalars(select(User).where(User.role == Role.AGENT, User.active.is_(True)).order_by(User.id))
    )
    shared = [
        macros.create_macro(
            session,
            owner=admin,
            name="Password reset steps",
            shared=True,
            clock=clock,
            reply_template="Hi {{ requester.first_name }}, you can reset your password from the sign-in "
            "page (Forgot password). Let me know if the mail does not arrive. {{ agent.first_name }}",
            actions=[
                {"action": "add_tags", "tags": ["password_reset"]},
                {"action": "set_field", "field": "status", "value": "pending"},
            ],
        ),
        macros.create_macro(
            session,
            owner=admin,
            name="Refund issued",
            shared=True,
            clock=clock,
            reply_template="Hi {{ requester.first_name }}, the refund is on its way and shows within five "
            "working days. {{ agent.first_name }}",
            actions=[
                {"action": "add_tags", "tags": ["refund_issued"]},
                {"action": "set_field", "field": "status", "value": "solved"},
            ],
        ),
    ]
    if agents:
        macros.create_macro(
            session, owner=agents[0], name="Ask for a screenshot", clock=clock,
            reply_template="Could you send a screenshot of what you see, {{ requester.first_name }}?",
            actions=[{"action": "set_field", "field": "status", "value": "pending"}],
        )  # fmt: skip
    # The day's last tickets arrive through the desk's actions: the triggers run on them.
    organisations = list(session.scalars(select(Organisation.id).order_by(Organisation.id).limit(400)))
    requesters = list(
        session.scalars(
            select(User)
            .where(
                User.role == Role.REQUESTER, User.organisation_id.in_(organisations), User.email.is_not(None)
            )
            .order_by(User.id)
            .limit(200)
        )
    )
    created = 0
    l1_agents = [a for a in agents if a.tier is not None and a.tier.value == "L1"] or agents
    for n, requester in enumerate(requesters[:40]):
        # Spread over the last six days, so the time rules find work that has waited.
        clock.set(now - timedelta(hours=3.6 * (40 - n)))
        ticket = actions.create_ticket(
            session, requester=requester, subject=str(rng.choice(SUBJECTS)), clock=clock,
            body_text="Hello, we need help with this.",
            channel=Channel.EMAIL if rng.random() < 0.6 else Channel.WEB,
        )  # fmt: skip
        created += 1
        if n % 2 == 0 and l1_agents and ticket.status is not Status.CLOSED and ticket.tier.value == "L1":
            agent = l1_agents[n % len(l1_agents)]
            clock.set(clock.now() + timedelta(minutes=20))
            actions.assign(session, ticket=ticket, assignee=agent, actor=agent, clock=clock)
            actions.add_message(
                session, ticket=ticket, author=agent, author_kind=AuthorKind.AGENT, public=True,
                channel=ticket.channel, clock=clock, body_text="Thanks, looking into it now.",
            )  # fmt: skip
            if n % 3 == 0:
                clock.set(clock.now() + timedelta(minutes=10))
                actions.update_ticket(session, ticket=ticket, actor=agent, clock=clock, status=Status.PENDING)
    clock.set(now)
    after: int | None = 0
    fired = 0
    while after is not None:
        count, after = run_time_rules(session, clock=clock, after_id=after)
        fired += count
    applied = 0
    open_tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.status == Status.OPEN, Ticket.sensitive.is_(False), Ticket.assignee_id.is_not(None))
            .order_by(Ticket.id.desc())
            .limit(30)
        )
    )
    for ticket in open_tickets:
        worker = ticket.assignee
        if worker is None or worker.role is not Role.AGENT:
            continue
        macro = shared[applied % len(shared)]
        macros.apply_macro(session, ticket=ticket, macro=macro, agent=worker, clock=clock)
        applied += 1
    return {
        "organisations with published attributes": published,
        "automation rules": len(RULES),
        "macros": int(session.scalar(select(Macro.id).order_by(Macro.id.desc()).limit(1)) or 0),
        "tickets through triggers": created,
        "time rule firings": fired,
        "macro uses": applied,
    }
