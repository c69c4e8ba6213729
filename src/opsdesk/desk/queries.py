"""Reads on tickets, messages and people, always filtered by what the reader may see."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import ORMOption

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.desk import ticket_sort
from opsdesk.desk.access import messages_visible_to, visible_to
from opsdesk.desk.models import UNSOLVED, Attachment, Channel, Message, Priority, Status, Ticket, TicketTag
from opsdesk.desk.requesters import current_person

T = TypeVar("T")
MAX_PAGE = 200
MAX_ID = 2**31 - 1
# What a page of tickets shows beside each row, each loaded in one statement for the whole page.
LIST_RELATIONS = (
    selectinload(Ticket.tag_rows),
    selectinload(Ticket.requester),
    selectinload(Ticket.assignee),
    selectinload(Ticket.organisation),
    selectinload(Ticket.group),
)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class TicketFilters:
    status: Sequence[Status] = ()
    priority: Sequence[Priority] = ()
    channel: Sequence[Channel] = ()
    assignee_id: int | None = None
    group_id: int | None = None
    requester_id: int | None = None
    organisation_id: int | None = None
    tag: str | None = None
    view: str | None = None  # one of VIEWS
    updated_since: datetime | None = None


VIEWS = ("mine", "unassigned", "my_group", "breaching_soon", "overdue")
# Views of work against the clock list the most urgent first; the others newest first.
SLA_VIEWS = ("breaching_soon", "overdue")


def encode_cursor(last_id: int, due: datetime | None = None) -> str:
    """Opaque to clients: they pass back what they were given and never build one."""
    data: dict[str, object] = {"v": 1, "before": last_id}
    if due is not None:
        data["due"] = due.isoformat()
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    return _decode(cursor)[0]


def _decode(cursor: str) -> tuple[int, datetime | None]:
    """The last row's number and, for the SLA-ordered views, its due time."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        before = data["before"]
        if data.get("v") != 1 or not isinstance(before, int) or not 1 <= before <= MAX_ID:
            raise ValueError
        due = data.get("due")
        if due is None:
            return before, None
        when = datetime.fromisoformat(due)
        if when.tzinfo is None or not 1900 <= when.year <= 2200:
            raise ValueError
        return before, when
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationFailed("the cursor is not one this server gave out", field="cursor") from exc


def filtered_tickets(
    user: User, filters: TicketFilters, *, now: datetime, breaching_soon_minutes: int
) -> Select[Ticket]:
    """The tickets ``user`` may see that match ``filters``: one condition for the list and its count,
    so a view's count is always the length of its list."""
    query = select(Ticket).where(visible_to(user))
    if filters.status:
        query = query.where(Ticket.status.in_(filters.status))
    if filters.priority:
        query = query.where(Ticket.priority.in_(filters.priority))
    if filters.channel:
        query = query.where(Ticket.channel.in_(filters.channel))
    for column, value in (
        (Ticket.assignee_id, filters.assignee_id),
        (Ticket.group_id, filters.group_id),
        (Ticket.requester_id, filters.requester_id),
        (Ticket.organisation_id, filters.organisation_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.tag:
        query = query.where(
            select(TicketTag.ticket_id)
            .where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == filters.tag.strip().lower())
            .exists()
        )
    if filters.updated_since is not None:
        query = query.where(Ticket.updated_at >= filters.updated_since)
    if filters.view is not None:
        query = query.where(view_condition(user, filters.view, now, breaching_soon_minutes))
    return query


def count_tickets(
    session: Session, *, user: User, filters: TicketFilters, clock: Clock, breaching_soon_minutes: int
) -> int:
    query = filtered_tickets(user, filters, now=clock.now(), breaching_soon_minutes=breaching_soon_minutes)
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def list_tickets(
    session: Session,
    *,
    user: User,
    filters: TicketFilters,
    clock: Clock,
    breaching_soon_minutes: int,
    cursor: str | None = None,
    limit: int = 50,
    relations: Sequence[ORMOption] = LIST_RELATIONS,
    sort: str | None = None,
) -> Page[Ticket]:
    """Newest first by number, which never changes, so paging is stable while tickets are updated; the
    SLA views most urgent first, by due time and then number; ``sort`` (see ``ticket_sort``) orders by
    a column, then number. ``relations``: what is loaded with each row, each in one statement for the
    page (every statement counts on a list integrations poll)."""
    limit = max(1, min(limit, MAX_PAGE))
    query = filtered_tickets(user, filters, now=clock.now(), breaching_soon_minutes=breaching_soon_minutes)
    if sort is not None:
        by = ticket_sort.parse(sort)
        query = ticket_sort.after(query, by, cursor) if cursor else query
        rows = list(session.scalars(query.options(*relations).order_by(*by.clauses()).limit(limit + 1)))
        items = rows[:limit]
        more = len(rows) > limit
        return Page(items=items, next_cursor=ticket_sort.cursor_after(items[-1], by) if more else None)
    by_due = filters.view in SLA_VIEWS
    if cursor:
        before, due = _decode(cursor)
        if by_due and due is not None:
            due_column = Ticket.sla_next_due_at
            query = query.where(or_(due_column > due, and_(due_column == due, Ticket.id > before)))
        else:
            query = query.where(Ticket.id < before)
    order = (Ticket.sla_next_due_at, Ticket.id) if by_due else (Ticket.id.desc(),)
    rows = list(session.scalars(query.options(*relations).order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    items = rows[:limit]
    if not more:
        return Page(items=items, next_cursor=None)
    last = items[-1]
    return Page(items=items, next_cursor=encode_cursor(last.id, last.sla_next_due_at if by_due else None))


def view_condition(user: User, view: str, now: datetime, breaching_soon_minutes: int) -> ColumnElement[bool]:
    """Which tickets a view holds: the overview counts each tile with this same condition, so a tile's
    number is the length of the list it opens."""
    if view == "mine":
        return and_(Ticket.assignee_id == user.id, Ticket.status.in_(UNSOLVED))
    if view == "unassigned":
        return and_(Ticket.assignee_id.is_(None), Ticket.status.in_(UNSOLVED))
    if view == "my_group":
        # Unsolved, as Zendesk's "Unsolved tickets in your groups": with solved and closed ones the list
        # (and the count on every list page) would grow with history.
        group_ids = [g.id for g in user.groups]
        return and_(Ticket.group_id.in_(group_ids), Ticket.status.in_(UNSOLVED)) if group_ids else false()
    if view == "breaching_soon":
        horizon = now + timedelta(minutes=breaching_soon_minutes)
        return and_(
            Ticket.status.in_(UNSOLVED), Ticket.sla_next_due_at > now, Ticket.sla_next_due_at <= horizon
        )
    if view == "overdue":
        return and_(Ticket.status.in_(UNSOLVED), Ticket.sla_next_due_at <= now)
    raise ValidationFailed(f"unknown view {view!r}; use one of {', '.join(VIEWS)}", field="view")


def ticket_by_external_id(session: Session, *, external_id: str, channel: Channel) -> Ticket | None:
    """The ticket an integration already created under its own id on this channel, if any."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.external_id == external_id, Ticket.channel == channel)
        .order_by(Ticket.id)
        .limit(1)
    )


def ticket_messages(session: Session, *, ticket: Ticket, user: User) -> list[Message]:
    """The messages of a ticket the caller already may read (see access.ticket_for), oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.ticket_id == ticket.id, messages_visible_to(user))
            .options(selectinload(Message.attachments), selectinload(Message.author))
            .order_by(Message.id)
        )
    )


def list_users(
    session: Session,
    *,
    viewer: User,
    role: Role | None = None,
    organisation_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[User]:
    """People for staff who may read them, newest first."""
    permissions.require(viewer, permissions.USER_READ)
    limit = max(1, min(limit, MAX_PAGE))
    query = select(User).options(selectinload(User.identities))
    if role is not None:
        query = query.where(User.role == role)
    if organisation_id is not None:
        query = query.where(User.organisation_id == organisation_id)
    if cursor:
        query = query.where(User.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(User.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


def user_for(session: Session, *, user_id: int, viewer: User) -> User:
    """A person's record: anyone may read their own, staff who may read people anyone's."""
    user = session.get(User, user_id)
    if user is None or (user.id != viewer.id and not permissions.has(viewer, permissions.USER_READ)):
        raise NotFound(f"no user {user_id}", field="id")
    return user


def attachment_for(session: Session, *, ticket: Ticket, attachment_id: int, user: User) -> Attachment:
    """An attachment of a message the caller may read on a ticket they may read; NotFound otherwise."""
    row = session.scalar(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(Attachment.id == attachment_id, Message.ticket_id == ticket.id, messages_visible_to(user))
    )
    if row is None:
        raise NotFound(f"no attachment {attachment_id} on ticket #{ticket.id}", field="attachment_id")
    return row


def _person_and_merged(session: Session, person: User) -> list[int]:
    """The person's id and those of every record merged into them (at any depth)."""
    ids, frontier = [person.id], [person.id]
    while frontier and len(ids) < 1000:
        frontier = [
            int(i)
            for i in session.scalars(select(User.id).where(User.merged_into_id.in_(frontier)))
            if i not in ids
        ]
        ids += frontier
    return ids


def requester_recent_tickets(
    session: Session, *, ticket: Ticket, user: User, limit: int = 10
) -> list[Ticket]:
    """The requester's other tickets on every channel, newest first: the person behind the ticket after
    merges, and any record merged into them. Only those ``user`` may see (need-to-know holds here too:
    a sensitive ticket of the same person is left out for readers without sensitive access)."""
    person = current_person(session, ticket.requester)
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.requester_id.in_(_person_and_merged(session, person)),
                Ticket.id != ticket.id,
                visible_to(user),
            )
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
    )
