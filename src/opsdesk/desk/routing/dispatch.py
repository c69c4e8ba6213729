"""Applying the router's decisions: lock the waiting work and the agents, decide, assign, log why.

Several workers may drain at once. On PostgreSQL each takes its batch of waiting tickets and the online
agents' presence rows with ``FOR UPDATE SKIP LOCKED``, so two workers never hold the same ticket or the
same agent: a ticket cannot be assigned twice and an agent's open work is counted while nobody else can
add to it. SQLite has one writer at a time (the routing transaction begins IMMEDIATE), which serialises
the same steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key

from opsdesk.core.clock import Clock
from opsdesk.core.database import transaction
from opsdesk.core.events import new_event, write_events
from opsdesk.core.models import User
from opsdesk.desk.channels.chat.models import ChatConversation, ChatState
from opsdesk.desk.models import Ticket
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, QueueEntry, RoutingGroup
from opsdesk.desk.routing.router import Decision, Router, queue_order
from opsdesk.desk.routing.state import (
    current_settings,
    load_agents,
    load_items,
    policy_of,
    round_robin_pointers,
)

BATCH = 500


@dataclass(frozen=True)
class PassResult:
    """One routing pass: how many items it looked at and the decisions it made."""

    items: int
    decisions: list[Decision]

    @property
    def assigned(self) -> list[Decision]:
        return [d for d in self.decisions if d.agent_id is not None]


def route_waiting(session: Session, *, clock: Clock, limit: int = BATCH, offset: int = 0) -> PassResult:
    """One pass in the caller's transaction: up to ``limit`` waiting tickets (after the first ``offset``
    in queue order), decided and assigned."""
    settings = current_settings(session)
    if settings is None or not settings.enabled:
        return PassResult(0, [])
    now = clock.now()
    postgres = session.get_bind().dialect.name == "postgresql"
    items = load_items(session, settings=settings, limit=limit, lock=postgres, offset=offset)
    if not items:
        return PassResult(0, [])
    presence_query = select(AgentPresence).where(AgentPresence.status == PresenceStatus.ONLINE)
    if postgres:
        presence_query = presence_query.order_by(AgentPresence.user_id).with_for_update(skip_locked=True)
    presences = session.scalars(presence_query).all()
    agents = load_agents(session, now=now, settings=settings, presences=presences)
    pointers = round_robin_pointers(session)
    before = dict(pointers)
    router = Router(agents, policy_of(session, settings), round_robin=pointers)
    decisions = [router.route(item, now) for item in queue_order(items)]
    groups = {item.ticket_id: item.group_id for item in items}
    apply_decisions(session, decisions, groups=groups, now=now)
    _save_pointers(session, before, router.round_robin)
    return PassResult(len(items), decisions)


_ASSIGN = (
    update(Ticket)
    .where(Ticket.id == bindparam("ticket"), Ticket.assignee_id.is_(None))
    .values(assignee_id=bindparam("agent"), site_id=bindparam("site"), updated_at=bindparam("now"))
)
_OFFER_CHAT = (
    update(ChatConversation)
    .where(
        ChatConversation.ticket_id == bindparam("ticket"),
        ChatConversation.state == ChatState.WAITING,
        ChatConversation.agent_id.is_(None),
    )
    .values(agent_id=bindparam("agent"))
)
_LAST_ASSIGNED = (
    update(AgentPresence)
    .where(AgentPresence.user_id == bindparam("agent"))
    .values(last_assigned_at=bindparam("now"))
)


def apply_decisions(
    session: Session, decisions: Sequence[Decision], *, groups: dict[int, int | None], now: datetime
) -> None:
    """Write the assignments with one statement per kind of row, and an ``assigned`` event per
    ticket saying why (the rules matched, the agents considered, how the agent was chosen)."""
    assigned = [d for d in decisions if d.agent_id is not None]
    if not assigned:
        return
    # Core statements below bypass the unit of work: changes held in the session go first.
    session.flush()
    agent_ids = sorted({d.agent_id for d in assigned if d.agent_id is not None})
    sites = dict(session.execute(select(User.id, User.site_id).where(User.id.in_(agent_ids))).all())
    connection = session.connection()
    rows = [
        {"ticket": d.ticket_id, "agent": d.agent_id, "site": sites.get(d.agent_id or 0), "now": now}
        for d in assigned
    ]
    connection.execute(_ASSIGN, rows)
    connection.execute(_OFFER_CHAT, [{"ticket": d.ticket_id, "agent": d.agent_id} for d in assigned])
    connection.execute(_LAST_ASSIGNED, [{"agent": agent_id, "now": now} for agent_id in agent_ids])
    connection.execute(delete(QueueEntry).where(QueueEntry.ticket_id.in_([d.ticket_id for d in assigned])))
    write_events(
        session,
        [
            new_event(
                subject_type="ticket",
                subject_id=d.ticket_id,
                type="assigned",
                at=now,
                data={
                    "from_assignee_id": None,
                    "to_assignee_id": d.agent_id,
                    "group_id": groups.get(d.ticket_id),
                    "via": "routing",
                    "routing": d.event_data(),
                },
            )
            for d in assigned
        ],
    )
    # Objects this session already holds must not keep their old assignee.
    for d in assigned:
        ticket = session.identity_map.get(identity_key(Ticket, d.ticket_id))
        if ticket is not None:
            session.expire(ticket)


def _save_pointers(session: Session, before: dict[int, int], after: dict[int, int]) -> None:
    """Round-robin pointers that moved, in group order (so concurrent workers lock them in one order)."""
    for group_id in sorted(after):
        if group_id == 0 or before.get(group_id) == after[group_id]:
            continue
        row = session.get(RoutingGroup, group_id)
        if row is None:
            session.add(RoutingGroup(group_id=group_id, choice=None, last_agent_id=after[group_id]))
        else:
            row.last_agent_id = after[group_id]
    session.flush()


def drain(session_factory: sessionmaker[Session], *, clock: Clock, limit: int = BATCH) -> int:
    """Route until the whole queue has been seen and a pass assigns nothing: the backlog is drained as
    far as capacity allows. Items nobody can take stay at the front of the queue, so the next pass
    starts after them: a head of unassignable work never hides assignable work behind it. Each pass
    is its own transaction, so locks are held for one batch only. Returns how many were assigned."""
    with transaction(session_factory, write=False) as session:
        settings = current_settings(session)
        if settings is None or not settings.enabled:
            return 0  # a look that takes no write lock: the tick runs every few seconds
    total = 0
    skip = 0
    while True:
        with transaction(session_factory) as session:
            result = route_waiting(session, clock=clock, limit=limit, offset=skip)
        assigned = len(result.assigned)
        total += assigned
        if result.items < limit and not assigned:
            return total
        skip += result.items - assigned
