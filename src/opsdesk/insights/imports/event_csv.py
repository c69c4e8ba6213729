"""A generic CSV event log of tickets from any other helpdesk: one row per event, in any order (rows of a
ticket are replayed by time; equal times keep the file's order). Pure: text in, histories out.

Columns (a header row names them; other columns are ignored):

- ``ticket_id`` (required): the ticket's id in the other system.
- ``event_type`` (required): ``created``, ``comment``, ``status``, ``assigned``, ``group``, ``priority``,
  ``tags`` or ``rating``. Each ticket needs exactly one ``created`` row, at or before its other rows.
- ``timestamp`` (required): ISO 8601 (``2026-01-05T09:30:00Z``, ``2026-01-05 09:30:00+01:00``); without an
  offset it is UTC.
- ``actor``: the email address of who did it; ``actor_role``: ``agent``, ``requester`` or ``system``
  (default: ``requester`` when the actor is the ticket's requester, else ``agent``).
- ``created`` rows: ``subject``, ``requester`` (email, required), ``requester_name``, ``channel`` (email,
  web, chat, phone, social or api; default email), and optionally ``status``, ``priority``, ``type``,
  ``group``, ``assignee``, ``tags`` and ``body`` (the opening message, written by the actor).
- ``comment``: ``body`` and ``public`` (true/false, default true). ``status``: ``status`` (new, open, pending,
  on_hold, solved, closed). ``assigned``: ``assignee`` (email; empty unassigns). ``group``: ``group`` (a
  name). ``priority``: ``priority``. ``tags``: ``tags``, space-separated, ``+tag`` adds and ``-tag`` removes.
  ``rating``: ``rating`` (good, bad or 1-5) and an optional ``body`` as the requester's comment.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from opsdesk.core.roles import Role
from opsdesk.insights.imports.history import Comment, Person, Problem, Step, TicketHistory
from opsdesk.insights.imports.zendesk import PRIORITIES, TYPES, parse_time

REQUIRED = ("ticket_id", "event_type", "timestamp")
EVENT_TYPES = ("created", "comment", "status", "assigned", "group", "priority", "tags", "rating")
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
CHANNELS = ("email", "web", "chat", "phone", "social", "api")
TRUE, FALSE = ("true", "yes", "1", "public"), ("false", "no", "0", "private", "internal")


@dataclass(frozen=True)
class _Row:
    line: int
    cells: dict[str, str]

    def get(self, name: str) -> str:
        return (self.cells.get(name) or "").strip()


class RowError(Exception):
    pass


def parse(file: str, text: str, problems: list[Problem]) -> tuple[list[Person], list[TicketHistory]]:
    rows = _rows(file, text, problems)
    by_ticket: dict[str, list[tuple[datetime, _Row]]] = {}
    for row in rows:
        try:
            ticket_id, kind = row.get("ticket_id"), row.get("event_type").lower()
            if not ticket_id:
                raise RowError("ticket_id is empty")
            if kind not in EVENT_TYPES:
                raise RowError(f"event_type {kind!r} is not one of {', '.join(EVENT_TYPES)}")
            at = parse_time(row.get("timestamp"))
            if at is None:
                raise RowError(f"timestamp {row.get('timestamp')!r} is not ISO 8601")
        except RowError as exc:
            problems.append(Problem(file, row.line, str(exc)))
            continue
        by_ticket.setdefault(ticket_id, []).append((at, row))
    people: dict[str, Person] = {}
    histories = []
    for ticket_id, events in by_ticket.items():
        events.sort(key=lambda e: e[0])  # stable: equal times keep the file's order
        history = _history(file, ticket_id, events, people, problems)
        if history is not None:
            histories.append(history)
    return list(people.values()), histories


def _rows(file: str, text: str, problems: list[Problem]) -> list[_Row]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        problems.append(Problem(file, 1, f"no readable header: {exc}" if str(exc) else "the file is empty"))
        return []
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        problems.append(Problem(file, 1, f"required column(s) missing: {', '.join(missing)}"))
        return []
    rows, line = [], 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(file, line + 1, f"not readable as CSV: {exc}"))
            break
        first, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(Problem(file, first, f"has {len(record)} cells, the header has {len(header)}"))
            continue
        rows.append(_Row(first, dict(zip(header, record, strict=True))))
    return rows


def _person(people: dict[str, Person], email: str, line: int, role: Role, name: str = "") -> str:
    key = email.strip().lower()
    if "@" not in key:
        raise RowError(f"{email!r} is not an email address")
    known = people.get(key)
    if known is None or (known.role is Role.REQUESTER and role is not Role.REQUESTER):
        people[key] = Person(line=line, external_id=key, name=name or key, email=key, role=role)
    return key


def _history(
    file: str,
    ticket_id: str,
    events: list[tuple[datetime, _Row]],
    people: dict[str, Person],
    problems: list[Problem],
) -> TicketHistory | None:
    created = [(at, row) for at, row in events if row.get("event_type").lower() == "created"]
    if len(created) != 1:
        for _at, row in events:
            problems.append(
                Problem(
                    file,
                    row.line,
                    f"ticket {ticket_id} has {len(created)} created rows (needs one); its rows are skipped",
                )
            )
        return None
    at, row = created[0]
    try:
        requester = _person(people, row.get("requester"), row.line, Role.REQUESTER, row.get("requester_name"))
        channel = (row.get("channel") or "email").lower()
        if channel not in CHANNELS:
            raise RowError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
        history = TicketHistory(
            external_id=ticket_id,
            file=file,
            line=row.line,
            subject=" ".join(row.get("subject").split())[:500] or f"Ticket {ticket_id}",
            channel=channel,
            created_at=at,
            requester=requester,
            created_by=None,
            status=_choice(row, "status", STATUSES, "new") or "new",
            priority=_choice(row, "priority", PRIORITIES, "normal") or "normal",
            type=_choice(row, "type", TYPES, None),
            group=row.get("group") or None,
            tags=row.get("tags").split(),
        )
        history.created_by = _actor(row, people, requester)
        if row.get("assignee"):
            history.assignee = _person(people, row.get("assignee"), row.line, Role.AGENT)
        if row.get("body"):
            history.opening.append(Comment(history.created_by, _public(row), None, row.get("body")))
    except RowError as exc:
        problems.append(Problem(file, row.line, f"ticket {ticket_id}: {exc}; the ticket is skipped"))
        return None
    for when, row in events:
        kind = row.get("event_type").lower()
        if kind == "created":
            continue
        if when < at:
            problems.append(
                Problem(
                    file, row.line, f"ticket {ticket_id}: {kind} is before the ticket was created; skipped"
                )
            )
            continue
        try:
            history.steps.append(_step(kind, when, row, people, requester))
        except RowError as exc:
            problems.append(Problem(file, row.line, f"ticket {ticket_id}: {exc}"))
    return history


def _choice(row: _Row, column: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = row.get(column).lower()
    if not value:
        return default
    if value not in allowed:
        raise RowError(f"{column} {value!r} is not one of {', '.join(allowed)}")
    return value


def _public(row: _Row) -> bool:
    value = row.get("public").lower()
    if value and value not in TRUE + FALSE:
        raise RowError(f"public {value!r} is not true or false")
    return value not in FALSE


def _actor(row: _Row, people: dict[str, Person], requester: str) -> str | None:
    role_name = row.get("actor_role").lower()
    if role_name == "system":
        return None
    if not row.get("actor"):
        return requester if role_name == "requester" else None
    if role_name not in ("", "agent", "requester"):
        raise RowError(f"actor_role {role_name!r} is not agent, requester or system")
    email = row.get("actor").lower()
    role = (
        Role.REQUESTER if role_name == "requester" or (not role_name and email == requester) else Role.AGENT
    )
    return _person(people, email, row.line, role)


def _step(kind: str, at: datetime, row: _Row, people: dict[str, Person], requester: str) -> Step:
    actor = _actor(row, people, requester)
    if kind == "comment":
        if not row.get("body"):
            raise RowError("a comment needs a body")
        return Step(
            at, actor, row.line, "comment", comment=Comment(actor, _public(row), None, row.get("body"))
        )
    if kind == "status":
        return Step(
            at, actor, row.line, "status", _choice(row, "status", STATUSES, None) or _missing("status")
        )
    if kind == "assigned":
        assignee = _person(people, row.get("assignee"), row.line, Role.AGENT) if row.get("assignee") else None
        return Step(at, actor, row.line, "assignee", assignee)
    if kind == "group":
        return Step(at, actor, row.line, "group", row.get("group") or None)
    if kind == "priority":
        return Step(
            at,
            actor,
            row.line,
            "priority",
            _choice(row, "priority", PRIORITIES, None) or _missing("priority"),
        )
    if kind == "tags":
        words = row.get("tags").split()
        added = [w.lstrip("+") for w in words if not w.startswith("-")]
        removed = [w[1:] for w in words if w.startswith("-")]
        return Step(at, actor, row.line, "tags", (added, removed, []))
    rating = row.get("rating").lower()
    if rating not in ("good", "bad") and not (rating.isdigit() and 1 <= int(rating) <= 5):
        raise RowError(f"rating {rating!r} is not good, bad or 1-5")
    return Step(at, requester, row.line, "rating", (rating, None, row.get("body") or None))


def _missing(column: str) -> str:
    raise RowError(f"{column} is empty")
