"""Growing a test database's history fast: tickets, their first messages and daily health snapshots
inserted in bulk, as the demo loader does, so a test can compare a page at two history sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from opsdesk.core.actions import create_group, create_organisation, create_user
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Group, Organisation, Role, Tier, User
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.desk.models import AuthorKind, Channel, Message, Priority, Status, Ticket
from opsdesk.success.health.models import HealthScore
from opsdesk.success.health.scorecard import Band


@dataclass
class Cast:
    """People and places that tickets are spread over, one of each per ticket where it can be."""

    organisations: list[Organisation]
    requesters: list[User]
    agents: list[User]
    groups: list[Group]


def make_cast(db: Session, clock: FixedClock, *, size: int, prefix: str = "c") -> Cast:
    organisations = [create_organisation(db, name=f"{prefix} Org {i}", clock=clock) for i in range(size)]
    requesters = [
        create_user(
            db,
            email=f"{prefix}-req{i}@cust{i}.test",
            name=f"{prefix.upper()} Requester {i}",
            role=Role.REQUESTER,
            organisation=org,
            clock=clock,
        )
        for i, org in enumerate(organisations)
    ]
    agents = [
        create_user(
            db,
            email=f"{prefix}-agent{i}@desk.test",
            name=f"{prefix.upper()} Agent {i}",
            role=Role.AGENT,
            tier=Tier.L1,
            clock=clock,
        )
        for i in range(size)
    ]
    groups = [create_group(db, name=f"{prefix} Group {i}", tier=Tier.L1) for i in range(size)]
    db.flush()
    return Cast(organisations, requesters, agents, groups)


def add_tickets(
    db: Session,
    cast: Cast,
    *,
    count: int,
    created: datetime,
    subject: str = "Invoice question",
    body: str = "Please check the invoice for this month",
    status: Status = Status.OPEN,
    solved: datetime | None = None,
    due: datetime | None = None,
    assignee: User | None = None,
) -> list[int]:
    """``count`` tickets, each with one public message; row i takes the i-th of each cast list
    (cycling), so a page of them shows as many different organisations and people as it can."""
    first = next_id(db, Ticket)
    first_message = next_id(db, Message)
    tickets, messages = [], []
    for i in range(count):
        requester = cast.requesters[i % len(cast.requesters)]
        ticket_id = first + i
        tickets.append(
            {
                "id": ticket_id,
                "subject": f"{subject} {ticket_id}",
                "status": status,
                "priority": Priority.NORMAL,
                "channel": Channel.EMAIL,
                "requester_id": requester.id,
                "organisation_id": requester.organisation_id,
                "group_id": cast.groups[i % len(cast.groups)].id,
                "assignee_id": (assignee or cast.agents[i % len(cast.agents)]).id,
                "tier": Tier.L1,
                "sensitive": False,
                "custom_fields": {},
                "created_at": created,
                "updated_at": solved or created,
                "solved_at": solved,
                "sla_next_due_at": due,
            }
        )
        messages.append(
            {
                "id": first_message + i,
                "ticket_id": ticket_id,
                "author_id": requester.id,
                "author_kind": AuthorKind.REQUESTER,
                "public": True,
                "channel": Channel.EMAIL,
                "body_html": f"<p>{body}</p>",
                "body_text": body,
                "created_at": created,
            }
        )
    bulk_insert(db, Ticket, tickets)
    bulk_insert(db, Message, messages)
    return [row["id"] for row in tickets]


def add_daily_scores(db: Session, account_ids: Sequence[int], *, last: date, days: int) -> None:
    """A snapshot a day for ``days`` days up to ``last`` for each account, the latest one green 80."""
    rows = []
    for account_id in account_ids:
        for back in range(days):
            green = back == 0
            rows.append(
                {
                    "account_id": account_id,
                    "scored_on": last - timedelta(days=back),
                    "score": Decimal(80 if green else 40),
                    "band": Band.GREEN if green else Band.RED,
                    "effective_score": Decimal(80 if green else 40),
                    "effective_band": Band.GREEN if green else Band.RED,
                    "measures": {"csat": {"value": 90.0, "score": 80.0, "weight": 100}},
                    "computed_at": datetime.combine(last, time(6), tzinfo=UTC),
                }
            )
    bulk_insert(db, HealthScore, rows)
