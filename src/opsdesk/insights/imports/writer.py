"""Writes an imported history: organisations, groups and people first, then each ticket whole (its row,
tags, messages, rating and every event, at the source's own times) in the caller's transaction.

The desk's own actions are not replayed: they stamp the clock's time, send mail and start SLA clocks,
while an import must keep the original instants and reach nobody. What it writes has the shape those
actions write (the same event types and payload fields), so the KPI engine and mining read both alike.
Events are inserted, never updated (the log is append-only); a record already in ``imported_records``
is skipped, which makes a re-run write nothing and a resumed run continue where the last commit ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.events import new_event, write_events
from opsdesk.core.models import Event, Group, Identity, IdentityKind, Organisation, Role, Tier, User
from opsdesk.desk.actions import normalise_tags
from opsdesk.desk.models import AuthorKind, Channel, Message, Priority, Status, Ticket, TicketTag, TicketType
from opsdesk.desk.sanitize import message_bodies
from opsdesk.desk.surveys.models import CsatRating
from opsdesk.desk.surveys.scale import Rating, Scale, Via
from opsdesk.insights.imports.history import Comment, Company, Person, Problem, Step, Team, TicketHistory
from opsdesk.insights.imports.models import ImportedRecord

KINDS = ("organisation", "group", "user", "ticket")
L2_WORDS = ("l2", "tier 2", "tier2", "level 2", "engineering")


@dataclass
class Counts:
    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    known: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    events: int = 0
    messages: int = 0


class Mappings:
    """The source's ids already imported, per kind, read once and kept current as rows are added."""

    def __init__(self, session: Session, source: str) -> None:
        self.source = source
        self.ids: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        self._roles: dict[int, Role] | None = None
        rows = session.execute(
            select(ImportedRecord.kind, ImportedRecord.external_id, ImportedRecord.local_id).where(
                ImportedRecord.source == source
            )
        )
        for kind, external_id, local_id in rows:
            self.ids.setdefault(kind, {})[external_id] = local_id

    def roles(self, session: Session) -> dict[int, Role]:
        """The role of every imported person, read once (people are written before tickets)."""
        if self._roles is None:
            ids = list(self.ids["user"].values())
            self._roles = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                self._roles.update(
                    (user_id, role)
                    for user_id, role in session.execute(select(User.id, User.role).where(User.id.in_(chunk)))
                )
        return self._roles

    def get(self, kind: str, external_id: str | None) -> int | None:
        return self.ids[kind].get(external_id) if external_id is not None else None

    def add(self, session: Session, kind: str, external_id: str, local_id: int, at: datetime) -> None:
        session.execute(
            insert(ImportedRecord),
            {
                "source": self.source,
                "kind": kind,
                "external_id": external_id,
                "local_id": local_id,
                "created_at": at,
            },
        )
        self.ids[kind][external_id] = local_id
        if kind == "user":
            self._roles = None


def write_companies(
    session: Session, companies: Iterable[Company], maps: Mappings, counts: Counts, clock: FixedClock
) -> None:
    """An organisation is matched by its CRM id (Zendesk's ``external_id``) when OpsDesk has it, so
    tickets land on the customer success already tracks; else by name; else created."""
    for company in companies:
        if maps.get("organisation", company.external_id) is not None:
            counts.known["organisation"] += 1
            continue
        org = None
        if company.crm_id:
            org = session.scalar(select(Organisation).where(Organisation.external_id == company.crm_id))
        if org is None:
            org = session.scalar(select(Organisation).where(Organisation.name == company.name).limit(1))
        if org is None:
            org = core.create_organisation(
                session,
                name=company.name,
                clock=FixedClock(company.created_at or clock.now()),
                domain=company.domain,
                external_id=company.crm_id,
                shared_tickets=company.shared_tickets,
                tags=list(company.tags),
            )
            counts.new["organisation"] += 1
        else:
            counts.known["organisation"] += 1
        maps.add(session, "organisation", company.external_id, org.id, clock.now())


def _tier_of(name: str) -> Tier:
    lowered = name.lower()
    return Tier.L2 if any(word in lowered for word in L2_WORDS) else Tier.L1


def write_teams(
    session: Session, teams: Iterable[Team], maps: Mappings, counts: Counts, clock: FixedClock
) -> None:
    for team in teams:
        if maps.get("group", team.external_id) is not None:
            counts.known["group"] += 1
            continue
        group = session.scalar(select(Group).where(Group.name == team.name))
        if group is None:
            group = core.create_group(session, name=team.name, tier=_tier_of(team.name))
            counts.new["group"] += 1
        else:
            counts.known["group"] += 1
        maps.add(session, "group", team.external_id, group.id, clock.now())


def write_people(
    session: Session,
    people: Iterable[Person],
    maps: Mappings,
    counts: Counts,
    problems: list[Problem],
    file: str,
    clock: FixedClock,
) -> None:
    """Requesters stay requesters; agents and admins become staff (an agent's tier follows their default
    group). A person whose address OpsDesk already knows is that user, never a second one."""
    for person in people:
        if maps.get("user", person.external_id) is not None:
            counts.known["user"] += 1
            continue
        user = session.scalar(select(User).where(User.email == person.email)) if person.email else None
        if user is None:
            group_id = maps.get("group", person.default_group)
            group = session.get(Group, group_id) if group_id is not None else None
            try:
                user = core.create_user(
                    session,
                    email=person.email,
                    name=person.name,
                    role=person.role,
                    tier=(group.tier or Tier.L1 if group else Tier.L1) if person.role is Role.AGENT else None,
                    organisation=_organisation(session, maps, person.organisation),
                    clock=FixedClock(person.created_at or clock.now()),
                )
            except OpsDeskError as exc:
                problems.append(
                    Problem(file, person.line, f"user {person.external_id} not imported: {exc.message}")
                )
                continue
            if person.phone:
                _add_phone(session, user, person.phone, person.created_at or clock.now())
            if group is not None and person.role is not Role.REQUESTER:
                group.members.append(user)
            counts.new["user"] += 1
        else:
            counts.known["user"] += 1
        maps.add(session, "user", person.external_id, user.id, clock.now())


def _organisation(session: Session, maps: Mappings, external_id: str | None) -> Organisation | None:
    local = maps.get("organisation", external_id)
    return session.get(Organisation, local) if local is not None else None


def _add_phone(session: Session, user: User, phone: str, at: datetime) -> None:
    value = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    taken = session.scalar(
        select(Identity.id).where(Identity.kind == IdentityKind.PHONE, Identity.value == value)
    )
    if value and taken is None:
        session.add(Identity(user_id=user.id, kind=IdentityKind.PHONE, value=value, created_at=at))


@dataclass
class _State:
    """The ticket as the replay has it so far."""

    status: str
    priority: str
    type: str | None
    group_id: int | None
    assignee_id: int | None
    tags: list[str]
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None


_INSERT_MESSAGE = insert(Message).returning(Message.id)


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
    users = maps.roles(session)

    def person(external_id: str | None, line: int, what: str) -> int | None:
        if external_id is None:
            return None
        local = maps.get("user", external_id)
        if local is None:
            problems.append(
                Problem(
                    history.file if line == history.line else _events_file(history),
                    line,
                    f"ticket {history.external_id}: {what} {external_id} was not imported; left out",
                )
            )
        return local

    def group(external_id: str | None, line: int) -> int | None:
        local = maps.get("group", external_id)
        if external_id is not None and local is None:
            problems.append(
                Problem(
                    _events_file(history),
                    line,
                    f"ticket {history.external_id}: group {external_id} was not imported; left out",
                )
            )
        return local

    try:
        opening_tags = normalise_tags(history.tags)
    except OpsDeskError as exc:
        problems.append(Problem(history.file, history.line, f"ticket {history.external_id}: {exc.message}"))
        opening_tags = []
    creator = person(history.created_by, history.line, "submitter")
    opening_assignee = person(history.assignee, history.line, "assignee")
    state = _State(
        status=history.status,
        priority=history.priority,
        type=history.type,
        group_id=group(history.group, history.line),
        assignee_id=_staff(users, opening_assignee),
        tags=list(opening_tags),
    )
    created_by_agent = creator is not None and users.get(creator, Role.REQUESTER) is not Role.REQUESTER
    organisation_id = maps.get("organisation", history.organisation)
    ticket = Ticket(
        subject=history.subject,
        status=Status(history.status),
        channel=Channel(history.channel),
        requester_id=requester_id,
        organisation_id=organisation_id,
        tier=Tier.L1,
        sensitive=False,
        custom_fields={},
        created_at=history.created_at,
        updated_at=history.created_at,
    )
    session.add(ticket)
    session.flush()
    log: list[Event] = []

    def event(type: str, at: datetime, actor: int | None, **data: Any) -> None:
        row = new_event(subject_type="ticket", subject_id=ticket.id, type=type, at=at, data=data)
        row.actor_id = actor
        log.append(row)

    event(
        "ticket_created", history.created_at, creator or requester_id,
        channel=history.channel, status=history.status, priority=history.priority, requester_id=requester_id,
        organisation_id=organisation_id, group_id=state.group_id, tier=Tier.L1.value, tags=opening_tags,
        created_by_agent=created_by_agent, sensitive=False,
        imported_from=f"{maps.source}:{history.external_id}",
    )  # fmt: skip
    if state.assignee_id is not None:
        event(
            "assigned", history.created_at, creator,
            from_assignee_id=None, to_assignee_id=state.assignee_id, group_id=state.group_id,
        )  # fmt: skip
    for comment in history.opening:
        author = person(comment.author, history.line, "comment author")
        _comment(session, ticket, comment, author, history.created_at, users, event, counts)
    ratings: list[tuple[Step, Any]] = []
    for step in history.steps:
        actor = person(step.actor, step.line, "updater")
        if step.kind == "comment" and step.comment is not None:
            author = person(step.comment.author, step.line, "comment author")
            _comment(session, ticket, step.comment, author, step.at, users, event, counts)
        elif step.kind == "status" and step.value != state.status:
            event("status_changed", step.at, actor, **{"from": state.status, "to": step.value})
            state.status = str(step.value)
            if state.status == "solved":
                state.solved_at = step.at
            elif state.status == "closed":
                state.closed_at = step.at
        elif step.kind == "assignee":
            to = _staff(
                users, person(step.value if isinstance(step.value, str) else None, step.line, "assignee")
            )
            if to != state.assignee_id:
                event(
                    "assigned",
                    step.at,
                    actor,
                    from_assignee_id=state.assignee_id,
                    to_assignee_id=to,
                    group_id=state.group_id,
                )
                state.assignee_id = to
        elif step.kind == "group":
            to = group(step.value if isinstance(step.value, str) else None, step.line)
            if to != state.group_id:
                event("group_changed", step.at, actor, **{"from": state.group_id, "to": to})
                state.group_id = to
        elif step.kind == "priority" and step.value != state.priority:
            event("priority_changed", step.at, actor, **{"from": state.priority, "to": step.value})
            state.priority = str(step.value)
        elif step.kind == "type" and step.value != state.type:
            event("fields_changed", step.at, actor, changed={"type": [state.type, step.value]})
            state.type = step.value if isinstance(step.value, str) else None
        elif step.kind == "tags":
            assert isinstance(step.value, tuple)
            added, removed = _tag_change(step.value, state.tags, problems, history, step.line)
            if added or removed:
                event("tags_changed", step.at, actor, added=added, removed=removed)
                state.tags = [t for t in state.tags if t not in removed] + added
        elif step.kind == "rating":
            assert isinstance(step.value, tuple)
            ratings.append((step, step.value))
            good_bad = step.value[0] in ("good", "bad")
            rating = step.value[0] if good_bad else ("good" if int(step.value[0]) >= 4 else "bad")
            event("csat_received", step.at, requester_id, rating=rating,
                  score=None if good_bad else int(step.value[0]),
                  scale=(Scale.GOOD_BAD if good_bad else Scale.ONE_TO_FIVE).value,
                  via=Via.EMAIL.value, comment=bool(step.value[2]))  # fmt: skip
        state.updated_at = max(state.updated_at or step.at, step.at)
    if history.expected_status and history.expected_status != state.status:
        problems.append(
            Problem(
                history.file,
                history.line,
                f"ticket {history.external_id}: its events end in status {state.status}, the ticket says "
                f"{history.expected_status}; the events are kept",
            )
        )
    ticket.status = Status(state.status)
    ticket.priority = Priority(state.priority)
    ticket.type = TicketType(state.type) if state.type else None
    ticket.group_id = state.group_id
    ticket.assignee_id = state.assignee_id
    if state.group_id is not None:
        tier = session.get(Group, state.group_id)
        ticket.tier = tier.tier if tier is not None and tier.tier is not None else Tier.L1
    ticket.solved_at = state.solved_at if state.status in ("solved", "closed") else None
    ticket.closed_at = state.closed_at if state.status == "closed" else None
    ticket.updated_at = state.updated_at or history.created_at
    ticket.tag_rows = [TicketTag(tag=t) for t in state.tags]
    if ratings:
        _rating(session, ticket, requester_id, ratings)
    session.flush()
    write_events(session, log)
    counts.events += len(log)
    counts.new["ticket"] += 1
    maps.add(session, "ticket", history.external_id, ticket.id, clock.now())
    return True


def _events_file(history: TicketHistory) -> str:
    return "ticket_events.jsonl" if history.file == "tickets.jsonl" else history.file


def _staff(users: dict[int, Role], user_id: int | None) -> int | None:
    """Only staff are assignees; an assignment to anyone else is dropped (the person was reported)."""
    return (
        user_id if user_id is not None and users.get(user_id, Role.REQUESTER) is not Role.REQUESTER else None
    )


def _tag_change(
    value: tuple[Any, ...], current: list[str], problems: list[Problem], history: TicketHistory, line: int
) -> tuple[list[str], list[str]]:
    try:
        added = [t for t in normalise_tags(value[0]) if t not in current]
        removed = [t for t in normalise_tags(value[1]) if t in current]
    except OpsDeskError as exc:
        problems.append(Problem(_events_file(history), line, f"ticket {history.external_id}: {exc.message}"))
        return [], []
    return added, removed


def _comment(
    session: Session, ticket: Ticket, comment: Comment, author: int | None, at: datetime,
    users: dict[int, Role], event: Any, counts: Counts,
) -> None:  # fmt: skip
    """A message and its event. Without a known author (Zendesk itself, or a person not imported,
    which the caller reported) it is a system message: it never counts as a reply."""
    role = users.get(author) if author is not None else None
    kind = (
        AuthorKind.SYSTEM
        if role is None
        else AuthorKind.REQUESTER
        if role is Role.REQUESTER
        else AuthorKind.AGENT
    )
    html, text = message_bodies(comment.html, comment.text)
    channel = Channel(comment.channel) if comment.channel else ticket.channel
    values = {
        "ticket_id": ticket.id, "author_id": author, "author_kind": kind,
        "public": comment.public or kind is AuthorKind.REQUESTER,
        "channel": channel, "body_html": html, "body_text": text, "email_message_id": None, "created_at": at,
    }  # fmt: skip
    message_id = session.execute(_INSERT_MESSAGE, values).scalar_one()
    counts.messages += 1
    event("message_added", at, author, message_id=message_id, public=values["public"], author_kind=kind.value,
          channel=channel.value)  # fmt: skip


def _rating(session: Session, ticket: Ticket, requester_id: int, ratings: list[tuple[Step, Any]]) -> None:
    """The ticket's current rating (the latest answer); its history is the csat_received events."""
    first, (last_step, (value, _score, note)) = ratings[0][0], ratings[-1]
    good_bad = value in ("good", "bad")
    session.add(
        CsatRating(
            ticket_id=ticket.id,
            requester_id=requester_id,
            scale=Scale.GOOD_BAD if good_bad else Scale.ONE_TO_FIVE,
            rating=Rating(value) if good_bad else (Rating.GOOD if int(value) >= 4 else Rating.BAD),
            score=None if good_bad else int(value),
            comment=note or "",
            via=Via.EMAIL,
            created_at=first.at,
            updated_at=last_step.at,
        )
    )
