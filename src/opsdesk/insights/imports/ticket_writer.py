"""Writes one imported ticket whole: its row, tags, messages, rating and every event, at the source's
own times, in the caller's transaction.

The desk's own actions are not replayed: they stamp the clock's time, send mail and start SLA clocks,
while an import must keep the original instants and reach nobody. What is written has the shape those
actions write (the same event types and payload fields), so the KPI engine and mining read both alike.
The history is replayed in memory first, then written as plain INSERTs (the ticket, its tags, each
message, all events in one statement): events are inserted, never updated, as the log requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.models import Event, Role
from opsdesk.desk.actions import normalise_tags
from opsdesk.desk.models import AuthorKind, Channel, Message, Priority, Status, Ticket, TicketTag, TicketType
from opsdesk.desk.sanitize import message_bodies
from opsdesk.desk.surveys.models import CsatRating
from opsdesk.desk.surveys.scale import Rating, Scale, Via
from opsdesk.insights.imports.history import Comment, Problem, TicketHistory
from opsdesk.insights.imports.writer import Counts, Mappings

_INSERT_TICKET = insert(Ticket).returning(Ticket.id)
_INSERT_MESSAGE = insert(Message).returning(Message.id)


@dataclass
class _Entry:
    """One event to write; ``message`` holds the row of the message it adds, if any."""

    type: str
    at: datetime
    actor: int | None
    data: dict[str, Any]
    message: dict[str, Any] | None = None


@dataclass
class _Replay:
    """The ticket as replaying its history leaves it, and what to write."""

    status: str
    priority: str
    type: str | None
    group_id: int | None
    assignee_id: int | None
    tags: list[str]
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    log: list[_Entry] = field(default_factory=list)
    ratings: list[tuple[datetime, str, str | None]] = field(default_factory=list)

    def add(self, type: str, at: datetime, actor: int | None, **data: Any) -> None:
        self.log.append(_Entry(type, at, actor, data))


class _Resolver:
    """Source ids -> local ids for one ticket; what is missing is reported once per place."""

    def __init__(
        self, history: TicketHistory, maps: Mappings, roles: dict[int, Role], problems: list[Problem]
    ):
        self.history, self.maps, self.roles, self.problems = history, maps, roles, problems

    def _report(self, line: int, message: str) -> None:
        history = self.history
        file = history.file if line == history.line else _events_file(history)
        self.problems.append(Problem(file, line, f"ticket {history.external_id}: {message}"))

    def person(self, external_id: Any, line: int, what: str) -> int | None:
        if not isinstance(external_id, str):
            return None
        local = self.maps.get("user", external_id)
        if local is None:
            self._report(line, f"{what} {external_id} was not imported; left out")
        return local

    def staff(self, external_id: Any, line: int) -> int | None:
        """Only staff are assignees; an assignment to anyone else is dropped."""
        local = self.person(external_id, line, "assignee")
        if local is not None and self.roles.get(local, Role.REQUESTER) is Role.REQUESTER:
            self._report(line, f"assignee {external_id} is not an agent; left out")
            return None
        return local

    def group(self, external_id: Any, line: int) -> int | None:
        if not isinstance(external_id, str):
            return None
        local = self.maps.get("group", external_id)
        if local is None:
            self._report(line, f"group {external_id} was not imported; left out")
        return local

    def tags(self, tags: list[str], line: int) -> list[str]:
        try:
            return normalise_tags(tags)
        except OpsDeskError as exc:
            self._report(line, exc.message)
            return []


def write_ticket(
    session: Session,
    history: TicketHistory,
    maps: Mappings,
    counts: Counts,
    problems: list[Problem],
    clock: FixedClock,
) -> bool:
    """The ticket, whole, or nothing (and a problem saying why). True when it was written now."""
    if maps.get("ticket", history.external_id) is not None:
        counts.known["ticket"] += 1
        return False
    requester_id = maps.get("user", history.requester)
    if requester_id is None:
        problems.append(
            Problem(
                history.file,
                history.line,
                f"ticket {history.external_id}: requester {history.requester} was not imported; "
                "ticket skipped",
            )
        )
        return False
    roles = maps.roles(session)
    replay = _replay(history, _Resolver(history, maps, roles, problems), roles, requester_id, maps.source)
    if history.expected_status and history.expected_status != replay.status:
        problems.append(
            Problem(
                history.file,
                history.line,
                f"ticket {history.external_id}: its events end in status {replay.status}, the ticket says "
                f"{history.expected_status}; the events are kept",
            )
        )
    ticket_id = _insert(session, history, replay, requester_id, maps)
    events = []
    for entry in replay.log:
        if entry.message is not None:
            entry.data["message_id"] = session.execute(
                _INSERT_MESSAGE, {**entry.message, "ticket_id": ticket_id}
            ).scalar_one()
            counts.messages += 1
        events.append(
            {"at": entry.at, "actor_id": entry.actor, "subject_type": "ticket", "subject_id": ticket_id,
             "type": entry.type, "data": entry.data}
        )  # fmt: skip
    session.execute(insert(Event), events)
    if replay.ratings:
        _rating(session, ticket_id, requester_id, replay.ratings)
    counts.events += len(events)
    counts.new["ticket"] += 1
    maps.add(session, "ticket", history.external_id, ticket_id, clock.now())
    return True


def _replay(
    history: TicketHistory, find: _Resolver, roles: dict[int, Role], requester_id: int, source: str
) -> _Replay:
    opening_tags = find.tags(history.tags, history.line)
    creator = find.person(history.created_by, history.line, "submitter")
    state = _Replay(
        status=history.status,
        priority=history.priority,
        type=history.type,
        group_id=find.group(history.group, history.line),
        assignee_id=find.staff(history.assignee, history.line),
        tags=list(opening_tags),
    )
    state.add(
        "ticket_created", history.created_at, creator or requester_id,
        channel=history.channel, status=history.status, priority=history.priority, requester_id=requester_id,
        organisation_id=find.maps.get("organisation", history.organisation), group_id=state.group_id,
        tier=None, tags=opening_tags, created_by_agent=_is_staff(roles, creator),
        sensitive=False, imported_from=f"{source}:{history.external_id}",
    )  # fmt: skip
    if state.assignee_id is not None:
        state.add(
            "assigned", history.created_at, creator,
            from_assignee_id=None, to_assignee_id=state.assignee_id, group_id=state.group_id,
        )  # fmt: skip
    for comment in history.opening:
        author = find.person(comment.author, history.line, "comment author")
        state.log.append(_message(comment, author, roles, history.created_at, history.channel))
    for step in history.steps:
        actor = find.person(step.actor, step.line, "updater")
        value = step.value
        if step.kind == "comment" and step.comment is not None:
            author = find.person(step.comment.author, step.line, "comment author")
            state.log.append(_message(step.comment, author, roles, step.at, history.channel))
        elif step.kind == "status" and value != state.status:
            state.add("status_changed", step.at, actor, **{"from": state.status, "to": value})
            state.status = str(value)
            if state.status == "solved":
                state.solved_at = step.at
            elif state.status == "closed":
                state.closed_at = step.at
        elif step.kind == "assignee":
            to = find.staff(value, step.line)
            if to != state.assignee_id:
                state.add("assigned", step.at, actor, from_assignee_id=state.assignee_id, to_assignee_id=to,
                          group_id=state.group_id)  # fmt: skip
                state.assignee_id = to
        elif step.kind == "group":
            to = find.group(value, step.line)
            if to != state.group_id:
                state.add("group_changed", step.at, actor, **{"from": state.group_id, "to": to})
                state.group_id = to
        elif step.kind == "priority" and value != state.priority:
            state.add("priority_changed", step.at, actor, **{"from": state.priority, "to": value})
            state.priority = str(value)
        elif step.kind == "type" and value != state.type:
            state.add("fields_changed", step.at, actor, changed={"type": [state.type, value]})
            state.type = value if isinstance(value, str) else None
        elif step.kind == "tags" and isinstance(value, tuple):
            added = [t for t in find.tags(value[0], step.line) if t not in state.tags]
            removed = [t for t in find.tags(value[1], step.line) if t in state.tags]
            if added or removed:
                state.add("tags_changed", step.at, actor, added=added, removed=removed)
                state.tags = [t for t in state.tags if t not in removed] + added
        elif step.kind == "rating" and isinstance(value, tuple):
            choice, note = str(value[0]), value[2] if isinstance(value[2], str) else None
            state.ratings.append((step.at, choice, note))
            good_bad = choice in ("good", "bad")
            state.add("csat_received", step.at, requester_id, rating=_good_or_bad(choice),
                      score=None if good_bad else int(choice),
                      scale=(Scale.GOOD_BAD if good_bad else Scale.ONE_TO_FIVE).value,
                      via=Via.EMAIL.value, comment=bool(note))  # fmt: skip
        state.updated_at = max(state.updated_at or step.at, step.at)
    return state


def _is_staff(roles: dict[int, Role], user_id: int | None) -> bool:
    return user_id is not None and roles.get(user_id, Role.REQUESTER) is not Role.REQUESTER


def _good_or_bad(choice: str) -> str:
    return choice if choice in ("good", "bad") else ("good" if int(choice) >= 4 else "bad")


def _message(
    comment: Comment, author: int | None, roles: dict[int, Role], at: datetime, channel: str
) -> _Entry:
    """A message and its event. Without a known author (Zendesk itself, or a person not imported, which
    was reported) it is a system message: it never counts as a reply. Requesters write in public."""
    role = roles.get(author) if author is not None else None
    kind = (
        AuthorKind.SYSTEM
        if role is None
        else AuthorKind.REQUESTER
        if role is Role.REQUESTER
        else AuthorKind.AGENT
    )
    html, text = message_bodies(comment.html, comment.text)
    public = comment.public or kind is AuthorKind.REQUESTER
    via = Channel(comment.channel or channel)
    row = {
        "author_id": author, "author_kind": kind, "public": public, "channel": via, "body_html": html,
        "body_text": text, "email_message_id": None, "created_at": at,
    }  # fmt: skip
    data = {"message_id": None, "public": public, "author_kind": kind.value, "channel": via.value}
    return _Entry("message_added", at, author, data, row)


def _insert(
    session: Session, history: TicketHistory, replay: _Replay, requester_id: int, maps: Mappings
) -> int:
    tier = maps.tier(session, replay.group_id)
    replay.log[0].data["tier"] = maps.tier(session, replay.log[0].data["group_id"]).value
    done = replay.status in ("solved", "closed")
    ticket_id: int = session.execute(
        _INSERT_TICKET,
        {
            "subject": history.subject, "status": Status(replay.status),
            "priority": Priority(replay.priority),
            "type": TicketType(replay.type) if replay.type else None, "channel": Channel(history.channel),
            "requester_id": requester_id, "organisation_id": maps.get("organisation", history.organisation),
            "group_id": replay.group_id, "assignee_id": replay.assignee_id, "site_id": None, "tier": tier,
            "sensitive": False, "custom_fields": {}, "external_id": None, "created_at": history.created_at,
            "updated_at": replay.updated_at or history.created_at,
            "solved_at": replay.solved_at if done else None,
            "closed_at": replay.closed_at if replay.status == "closed" else None,
        },
    ).scalar_one()  # fmt: skip
    if replay.tags:
        session.execute(insert(TicketTag), [{"ticket_id": ticket_id, "tag": tag} for tag in replay.tags])
    return ticket_id


def _events_file(history: TicketHistory) -> str:
    return "ticket_events.jsonl" if history.file == "tickets.jsonl" else history.file


def _rating(
    session: Session, ticket_id: int, requester_id: int, ratings: list[tuple[datetime, str, str | None]]
) -> None:
    """The ticket's current rating (the latest answer); its history is the csat_received events."""
    first_at, (last_at, choice, note) = ratings[0][0], ratings[-1]
    good_bad = choice in ("good", "bad")
    session.execute(
        insert(CsatRating),
        {
            "ticket_id": ticket_id, "requester_id": requester_id,
            "scale": Scale.GOOD_BAD if good_bad else Scale.ONE_TO_FIVE,
            "rating": Rating(_good_or_bad(choice)), "score": None if good_bad else int(choice),
            "comment": note or "", "reason": None, "via": Via.EMAIL,
            "created_at": first_at, "updated_at": last_at,
        },
    )  # fmt: skip
