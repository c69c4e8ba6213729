"""Agent presence: status changes (each an event, for occupancy and adherence), heartbeats, auto-away,
and what a change means for work: an agent going away or offline gives back their unstarted work, and an
agent coming online (or any freed capacity) wakes the router."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event, new_event, write_events
from opsdesk.core.models import User
from opsdesk.desk.actions import ASSIGNABLE_ROLES
from opsdesk.desk.channels.chat.models import ChatConversation, ChatState
from opsdesk.desk.models import Status, Ticket
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, QueueEntry
from opsdesk.desk.routing.router import CapacityKind, capacity_kind
from opsdesk.desk.routing.triggers import request_drain


def presence_of(session: Session, agent: User, now: datetime) -> AgentPresence:
    """The agent's presence row, created offline on first use."""
    row = session.get(AgentPresence, agent.id)
    if row is None:
        row = AgentPresence(
            user_id=agent.id,
            status=PresenceStatus.OFFLINE,
            on_call=False,
            in_chats=True,
            since=now,
            last_seen_at=now,
            last_assigned_at=None,
            capacity={},
        )
        session.add(row)
        session.flush()
    return row


def set_presence(
    session: Session,
    *,
    agent: User,
    status: PresenceStatus,
    clock: Clock,
    actor: User | None,
    on_call: bool | None = None,
    in_chats: bool | None = None,
    reason: str = "set",
) -> AgentPresence:
    """Change an agent's status (and activity flags). Away or offline returns their unstarted work."""
    if agent.role not in ASSIGNABLE_ROLES or not agent.active:
        raise ValidationFailed(f"{agent.name} is not an active agent", field="user_id")
    now = clock.now()
    row = presence_of(session, agent, now)
    before = (row.status, row.on_call, row.in_chats)
    row.status = status
    if on_call is not None:
        row.on_call = on_call
    if in_chats is not None:
        row.in_chats = in_chats
    row.last_seen_at = now
    if before == (row.status, row.on_call, row.in_chats):
        return row
    if before[0] is not status:
        row.since = now
    append_event(
        session,
        subject_type="user",
        subject_id=agent.id,
        type="presence_changed",
        at=now,
        actor=actor,
        data={
            "from": before[0].value,
            "to": status.value,
            "on_call": row.on_call,
            "in_chats": row.in_chats,
            "reason": reason,
        },
    )
    session.flush()
    if status is not PresenceStatus.ONLINE:
        return_unstarted_work(session, agent_id=agent.id, now=now, reason=f"agent {status.value}")
    request_drain(session, clock=clock)
    return row


def set_capacity(
    session: Session, *, agent: User, capacity: dict[str, Any], clock: Clock, actor: User | None
) -> None:
    """An agent's own capacity per kind (chat, call, ticket); a kind left out takes the desk default."""
    clean: dict[str, int] = {}
    for key, value in capacity.items():
        if key not in {kind.value for kind in CapacityKind}:
            raise ValidationFailed(
                f"capacity kind {key!r} is not one of chat, call, ticket", field="capacity"
            )
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise ValidationFailed(
                f"capacity for {key} must be a whole number from 0 to 100", field="capacity"
            )
        clean[key] = value
    row = presence_of(session, agent, clock.now())
    if row.capacity == clean:
        return
    append_event(
        session,
        subject_type="user",
        subject_id=agent.id,
        type="capacity_changed",
        at=clock.now(),
        actor=actor,
        data={"from": dict(row.capacity), "to": clean},
    )
    row.capacity = clean
    session.flush()
    request_drain(session, clock=clock)


def heartbeat(session: Session, *, agent: User, clock: Clock) -> None:
    """The agent is still here (a page or the console is open): auto-away counts from now."""
    session.execute(
        update(AgentPresence).where(AgentPresence.user_id == agent.id).values(last_seen_at=clock.now())
    )


def return_unstarted_work(session: Session, *, agent_id: int, now: datetime, reason: str) -> list[int]:
    """The agent's tickets nobody has answered yet (status new) and chats they have not joined go back
    to the queue, remembering the agent. Chats in progress stay with them."""
    joined = select(ChatConversation.ticket_id).where(ChatConversation.state == ChatState.ACTIVE)
    ids = list(
        session.scalars(
            select(Ticket.id).where(
                Ticket.assignee_id == agent_id, Ticket.status == Status.NEW, Ticket.id.not_in(joined)
            )
        )
    )
    if not ids:
        return []
    unassign(session, previous={ticket_id: agent_id for ticket_id in ids}, now=now, reason=reason)
    return ids


def unassign(
    session: Session,
    *,
    previous: dict[int, int | None],
    now: datetime,
    reason: str,
    site_id: int | None = None,
) -> None:
    """Put tickets back in the queue (no assignee), each with an ``assigned`` event to nobody.
    ``previous`` maps each ticket to the agent who had it."""
    ticket_ids = sorted(previous)
    session.flush()
    session.execute(
        update(Ticket).where(Ticket.id.in_(ticket_ids)).values(assignee_id=None, updated_at=now),
        execution_options={"synchronize_session": "fetch"},
    )
    session.execute(
        update(ChatConversation)
        .where(ChatConversation.ticket_id.in_(ticket_ids), ChatConversation.state == ChatState.WAITING)
        .values(agent_id=None),
        execution_options={"synchronize_session": False},
    )
    for ticket_id in ticket_ids:
        previous_assignee_id = previous[ticket_id]
        entry = session.get(QueueEntry, ticket_id)
        if entry is None:
            session.add(
                QueueEntry(
                    ticket_id=ticket_id,
                    queued_at=now,
                    reason=reason[:40],
                    previous_assignee_id=previous_assignee_id,
                    site_id=site_id,
                )
            )
        else:
            entry.queued_at, entry.reason = now, reason[:40]
            entry.previous_assignee_id, entry.site_id = previous_assignee_id, site_id
    session.flush()
    write_events(
        session,
        [
            new_event(
                subject_type="ticket",
                subject_id=ticket_id,
                type="assigned",
                at=now,
                data={
                    "from_assignee_id": previous[ticket_id],
                    "to_assignee_id": None,
                    "via": "routing",
                    "reason": reason,
                },
            )
            for ticket_id in ticket_ids
        ],
    )


def auto_away(session: Session, *, clock: Clock, idle: timedelta) -> list[int]:
    """Online agents not seen for ``idle`` are turned away; returns their ids."""
    cutoff = clock.now() - idle
    idle_agents = session.scalars(
        select(User)
        .join(AgentPresence, AgentPresence.user_id == User.id)
        .where(AgentPresence.status == PresenceStatus.ONLINE, AgentPresence.last_seen_at < cutoff)
        .order_by(User.id)
    ).all()
    for agent in idle_agents:
        set_presence(session, agent=agent, status=PresenceStatus.AWAY, clock=clock, actor=None, reason="idle")
    return [agent.id for agent in idle_agents]


def after_status_change(session: Session, *, ticket: Ticket, before: Status, clock: Clock) -> None:
    """Called by the desk on every status change of an assigned ticket. Work leaving new/open frees
    capacity, so the router is woken; a reopened ticket whose agent is not online, or has no room for
    it on its channel, goes back to the queue (to return to that agent only if they are online, with
    room, when it is routed)."""
    if ticket.assignee_id is None:
        return
    presence = session.get(AgentPresence, ticket.assignee_id)
    if presence is None:  # an agent routing does not manage
        return
    reopened = before in (Status.PENDING, Status.SOLVED, Status.ON_HOLD) and ticket.status is Status.OPEN
    if reopened and presence.status is not PresenceStatus.ONLINE:
        reason = "reopened, agent not online"
    elif reopened and not _has_room(session, presence, ticket):
        reason = "reopened, agent at capacity"
    else:
        reason = ""
    if reason:
        unassign(session, previous={ticket.id: ticket.assignee_id}, now=clock.now(), reason=reason)
        request_drain(session, clock=clock)
    elif before in (Status.NEW, Status.OPEN) and ticket.status not in (Status.NEW, Status.OPEN):
        request_drain(session, clock=clock)


def _has_room(session: Session, presence: AgentPresence, ticket: Ticket) -> bool:
    """Whether the agent can take ``ticket`` back without going over capacity on its channel."""
    from opsdesk.desk.routing.state import agent_loads, capacity_of, current_settings

    settings = current_settings(session)
    default = settings.default_capacity if settings is not None else {}
    kind = capacity_kind(ticket.channel.value)
    load = agent_loads(session, [presence.user_id], exclude_ticket=ticket.id).get(presence.user_id, {})
    return load.get(kind, 0) < capacity_of(presence, default)[kind]
