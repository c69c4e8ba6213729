"""Ordering the ticket list by a column (number, created, updated, priority, status, SLA due time),
either way, with the number as the tie-break, and keyset paging that stays stable under that order: the
cursor holds the last row's key and number, never an offset.

Keys are written so that both databases agree: priority and status sort by rank, not by name, and a
ticket with no SLA target sorts after every due time (as if due at the end of the calendar)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_

from opsdesk.core.database import UTCDateTime
from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.models import Priority, Status, Ticket

NO_DUE = datetime(2200, 1, 1, tzinfo=UTC)
PRIORITY_RANK = {p: n for n, p in enumerate(Priority)}
STATUS_RANK = {s: n for n, s in enumerate(Status)}


def _rank(column: Any, ranks: dict[Any, int]) -> ColumnElement[int]:
    return case({member.value: rank for member, rank in ranks.items()}, value=column)


def _key(name: str) -> ColumnElement[Any]:
    if name == "number":
        return Ticket.id  # type: ignore[return-value]
    if name == "created":
        return Ticket.created_at  # type: ignore[return-value]
    if name == "updated":
        return Ticket.updated_at  # type: ignore[return-value]
    if name == "priority":
        return _rank(Ticket.priority, PRIORITY_RANK)
    if name == "status":
        return _rank(Ticket.status, STATUS_RANK)
    return func.coalesce(Ticket.sla_next_due_at, literal(NO_DUE, UTCDateTime()))


SORT_KEYS = ("number", "created", "updated", "priority", "status", "sla_due")
TIME_KEYS = {"created", "updated", "sla_due"}
SORTS = tuple(f"{sign}{key}" for key in SORT_KEYS for sign in ("", "-"))
SORT_PATTERN = f"^-?({'|'.join(SORT_KEYS)})$"


@dataclass(frozen=True)
class Order:
    key: str
    descending: bool

    @property
    def text(self) -> str:
        return f"{'-' if self.descending else ''}{self.key}"

    def clauses(self) -> tuple[ColumnElement[Any], ...]:
        key = _key(self.key)
        if self.descending:
            return (key.desc(), Ticket.id.desc())
        return (key.asc(), Ticket.id.asc())

    def value_of(self, ticket: Ticket) -> Any:
        if self.key == "number":
            return ticket.id
        if self.key == "created":
            return ticket.created_at
        if self.key == "updated":
            return ticket.updated_at
        if self.key == "priority":
            return PRIORITY_RANK[ticket.priority]
        if self.key == "status":
            return STATUS_RANK[ticket.status]
        return ticket.sla_next_due_at or NO_DUE


def parse(sort: str) -> Order:
    """``key`` ascending or ``-key`` descending, key one of SORT_KEYS."""
    if sort not in SORTS:
        raise ValidationFailed(f"sort by one of {', '.join(SORTS)}", field="sort")
    return Order(sort.lstrip("-"), sort.startswith("-"))


def cursor_after(ticket: Ticket, order: Order) -> str:
    value = order.value_of(ticket)
    data = {
        "v": 2,
        "sort": order.text,
        "id": ticket.id,
        "key": value.isoformat() if isinstance(value, datetime) else value,
    }
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode(cursor: str, order: Order) -> tuple[int, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data.get("v") != 2 or data.get("sort") != order.text:
            raise ValueError
        last_id, key = data["id"], data["key"]
        if not isinstance(last_id, int) or not 1 <= last_id <= 2**31 - 1:
            raise ValueError
        if order.key in TIME_KEYS:
            key = datetime.fromisoformat(key)
            if key.tzinfo is None or not 1900 <= key.year <= 2200:
                raise ValueError
        elif not isinstance(key, int) or isinstance(key, bool) or abs(key) > 2**31:
            raise ValueError
        return last_id, key
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        raise ValidationFailed(
            "the cursor is not one this server gave out for this sort", field="cursor"
        ) from exc


def after(query: Select[Ticket], order: Order, cursor: str) -> Select[Ticket]:
    """The rows after the cursor's, in ``order``."""
    last_id, value = _decode(cursor, order)
    key = _key(order.key)
    bound = literal(value, UTCDateTime()) if order.key in TIME_KEYS else literal(value)
    if order.descending:
        return query.where(or_(key < bound, and_(key == bound, Ticket.id < last_id)))
    return query.where(or_(key > bound, and_(key == bound, Ticket.id > last_id)))
