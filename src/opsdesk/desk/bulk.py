"""Bulk work on selected tickets: one list of actions applied to up to MAX_BULK tickets in one
transaction, each change its own event (the same actions the ticket page calls).

Access holds ticket by ticket: only tickets the actor may read are loaded (a sensitive ticket stays
need-to-know; one the actor may not see is reported as not found, as everywhere), and each action
checks its own operation. A ticket an action cannot apply to (closed, an assignee without sensitive
access) is left unchanged and reported with the reason; the others are changed.

An action is anything with the operation it needs and an ``apply``: the built-in ones below, and a
macro (desk.automation) wrapped as one, so applying a macro in bulk is one more action in the list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.models import Group, User
from opsdesk.desk import actions
from opsdesk.desk.access import TicketOp, can, require, visible_to
from opsdesk.desk.models import Priority, Status, Ticket

MAX_BULK = 1000
CHUNK = 500  # ids per IN list, well under every database's limit on bound parameters


class TicketAction(Protocol):
    """One change applied to one ticket inside the caller's transaction; raises an OpsDeskError to
    leave that ticket unchanged."""

    @property
    def op(self) -> TicketOp: ...

    def apply(self, session: Session, ticket: Ticket, actor: User, clock: Clock) -> None: ...


@dataclass(frozen=True)
class Assign:
    assignee: User | None
    op: TicketOp = TicketOp.ASSIGN

    def apply(self, session: Session, ticket: Ticket, actor: User, clock: Clock) -> None:
        actions.assign(session, ticket=ticket, assignee=self.assignee, actor=actor, clock=clock)


@dataclass(frozen=True)
class MoveToGroup:
    group: Group | None
    op: TicketOp = TicketOp.ASSIGN

    def apply(self, session: Session, ticket: Ticket, actor: User, clock: Clock) -> None:
        actions.assign(
            session, ticket=ticket, assignee=ticket.assignee, group=self.group, actor=actor, clock=clock
        )


@dataclass(frozen=True)
class SetStatus:
    status: Status
    op: TicketOp = TicketOp.UPDATE_STATUS

    def apply(self, session: Session, ticket: Ticket, actor: User, clock: Clock) -> None:
        if ticket.status is not self.status:
            actions.change_status(session, ticket=ticket, to=self.status, actor=actor, clock=clock)


@dataclass(frozen=True)
class SetPriority:
    priority: Priority
    op: TicketOp = TicketOp.UPDATE

    def apply(self, session: Session, ticket: Ticket, actor: User, clock: Clock) -> None:
        if ticket.priority is not self.priority:
            actions.update_ticket(session, ticket=ticket, actor=actor, clock=clock, priority=self.priority)


@dataclass(frozen=True)
class ChangeTags:
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    op: TicketOp = TicketOp.UPDATE

    def apply(self, session: Session, ticket: Ticket, actor: User, clock: Clock) -> None:
        added, removed = actions.normalise_tags(self.add), set(actions.normalise_tags(self.remove))
        tags = [t for t in ticket.tags if t not in removed] + [t for t in added if t not in ticket.tags]
        if tags != ticket.tags:
            actions.update_ticket(session, ticket=ticket, actor=actor, clock=clock, tags=tags)


@dataclass
class BulkResult:
    applied: list[int] = field(default_factory=list)  # what changed is in each ticket's events
    skipped: dict[int, str] = field(default_factory=dict)  # ticket -> why it was left as it was


def apply_bulk(
    session: Session,
    *,
    actor: User,
    ticket_ids: Sequence[int],
    bulk_actions: Sequence[TicketAction],
    clock: Clock,
) -> BulkResult:
    """Apply ``bulk_actions`` in order to each ticket; the caller commits. Each ticket's changes are a
    savepoint, so a refusal on one leaves it untouched and the rest proceed."""
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        raise ValidationFailed("select at least one ticket", field="ticket_ids")
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"select at most {MAX_BULK} tickets at once", field="ticket_ids")
    if not bulk_actions:
        raise ValidationFailed("choose at least one action", field="actions")
    require(actor, TicketOp.LIST)
    tickets: dict[int, Ticket] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(chunk), visible_to(actor))
            .options(selectinload(Ticket.tag_rows), selectinload(Ticket.assignee), selectinload(Ticket.group))
            .with_for_update(of=Ticket)
        ):
            tickets[row.id] = row
    result = BulkResult()
    for number in ids:
        found = tickets.get(number)
        if found is None:
            result.skipped[number] = f"no ticket #{number}"
            continue
        ticket = found
        refused = next((a for a in bulk_actions if not can(actor, a.op, ticket)), None)
        if refused is not None:
            result.skipped[number] = f"you may not {refused.op.value.replace('_', ' ')} ticket #{number}"
            continue
        try:
            with session.begin_nested():
                for action in bulk_actions:
                    action.apply(session, ticket, actor, clock)
        except (ValidationFailed, Conflict, PermissionDenied, NotFound) as exc:
            session.refresh(ticket)
            result.skipped[number] = exc.message
            continue
        result.applied.append(number)
    return result
