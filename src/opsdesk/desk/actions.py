"""Every write on tickets and messages. Each runs inside the caller's transaction (flush, never commit),
appends its events there, and ends by letting the SLA tracker recompute the ticket's due times."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event, new_event, write_events
from opsdesk.core.inserted_rows import attach_inserted, column_values
from opsdesk.core.models import Event, Group, Role, Tier, User
from opsdesk.desk.access import has_sensitive_access
from opsdesk.desk.attachments import AttachmentStore, NewAttachment, safe_filename
from opsdesk.desk.automation.changes import note_event, rule_context
from opsdesk.desk.automation.triggers import run_triggers
from opsdesk.desk.models import (
    Attachment,
    AuthorKind,
    Channel,
    IdempotencyKey,
    Message,
    Priority,
    Status,
    Ticket,
    TicketTag,
    TicketType,
)
from opsdesk.desk.queries import ticket_by_external_id
from opsdesk.desk.requesters import current_person
from opsdesk.desk.sanitize import message_bodies
from opsdesk.desk.sla.tracking import refresh_ticket_sla, start_ticket_sla

MAX_SUBJECT = 500
MAX_TAG = 80
ASSIGNABLE_ROLES = (Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN)


class _Unset:
    """Marks a keyword that was not given, so None can mean "clear this field"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def _event(
    session: Session, ticket: Ticket, type: str, clock: Clock, actor: User | None, **data: Any
) -> Event:
    note_event(session, ticket.id, type, data)
    origin = rule_context(session)
    if origin is not None:
        data = {**data, **origin}  # a change a rule makes names the rule
    return append_event(
        session,
        subject_type="ticket",
        subject_id=ticket.id,
        type=type,
        at=clock.now(),
        actor=actor,
        data=data,
    )


def _after_change(session: Session, ticket: Ticket, clock: Clock) -> None:
    # No flush here: the change and the due time the refresh sets are written together at the next one.
    refresh_ticket_sla(session, ticket=ticket, clock=clock)
    # The one place triggers run for a changed ticket (a new one: the end of create_ticket).
    run_triggers(session, ticket=ticket, clock=clock, update_kind="updated")


def normalise_tags(tags: Sequence[str]) -> list[str]:
    """Tags are lowercase words joined by underscores, as Zendesk and most helpdesks store them."""
    out: list[str] = []
    for raw in tags:
        tag = re.sub(r"\s+", "_", raw.strip().lower())
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise ValidationFailed(f"tag {tag[:20]!r}... is longer than {MAX_TAG} characters", field="tags")
        if not re.fullmatch(r"[\w:.\-/]+", tag):
            raise ValidationFailed(f"tag {tag!r} may hold only letters, digits and _ - : . /", field="tags")
        if tag not in out:
            out.append(tag)
    return out


def request_hash(payload: Any) -> str:
    """A stable fingerprint of a create request, to tell a replay from a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def replayed_ticket(session: Session, *, scope: str, key: str, fingerprint: str) -> Ticket | None:
    """The ticket an earlier request with this idempotency key created; Conflict if the body differed."""
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used with a different request body; use a new key",
            field="Idempotency-Key",
        )
    return session.get_one(Ticket, row.ticket_id)


def check_assignee(ticket: Ticket, assignee: User) -> None:
    if assignee.role not in ASSIGNABLE_ROLES or not assignee.active:
        raise ValidationFailed(f"{assignee.name} is not an active agent", field="assignee_id")
    if ticket.sensitive and not has_sensitive_access(assignee):
        raise ValidationFailed(
            f"{assignee.name} has no access to sensitive tickets; assign someone in a sensitive-access group",
            field="assignee_id",
        )


def create_ticket(
    session: Session,
    *,
    requester: User,
    subject: str,
    body_html: str | None = None,
    body_text: str | None = None,
    channel: Channel,
    clock: Clock,
    store: AttachmentStore | None = None,
    author: User | None = None,
    public: bool = True,
    priority: Priority = Priority.NORMAL,
    type: TicketType | None = None,
    tags: Sequence[str] = (),
    custom_fields: dict[str, Any] | None = None,
    group: Group | None = None,
    assignee: User | None = None,
    sensitive: bool = False,
    external_id: str | None = None,
    email_message_id: str | None = None,
    attachments: Sequence[NewAttachment] = (),
    follow_up_of: Ticket | None = None,
    idempotency: tuple[str, str, str] | None = None,
) -> Ticket:
    """A new ticket with its first message. ``author=None`` means the requester wrote it.

    Replays are harmless: the same idempotency key, external id (per channel) or email Message-ID
    returns the ticket the first delivery created.
    """
    if idempotency is not None:
        scope, key, fingerprint = idempotency
        earlier = replayed_ticket(session, scope=scope, key=key, fingerprint=fingerprint)
        if earlier is not None:
            return earlier
    if external_id:
        earlier = ticket_by_external_id(session, external_id=external_id, channel=channel)
        if earlier is not None:
            return earlier
    if email_message_id:
        message = session.scalar(select(Message).where(Message.email_message_id == email_message_id))
        if message is not None:
            return message.ticket
    subject = " ".join(subject.split())
    if not subject:
        raise ValidationFailed("a ticket needs a subject", field="subject")
    if len(subject) > MAX_SUBJECT:
        raise ValidationFailed(f"the subject is longer than {MAX_SUBJECT} characters", field="subject")
    if follow_up_of is not None and follow_up_of.status is not Status.CLOSED:
        raise ValidationFailed("only a closed ticket can have a follow-up", field="follow_up_of")
    requester = current_person(session, requester)
    tag_list = normalise_tags(tags)
    now = clock.now()
    ticket = Ticket(
        subject=subject,
        status=Status.NEW,
        priority=priority,
        type=type,
        channel=channel,
        # Every column is given, foreign keys beside their relationships: the row is written by Core
        # (_insert_opening) and the object attached as inserted, with nothing left to load.
        requester=requester,
        requester_id=requester.id,
        organisation_id=requester.organisation_id,
        group=group,
        group_id=group.id if group is not None else None,
        assignee_id=None,
        site_id=None,
        tier=group.tier if group is not None and group.tier is not None else Tier.L1,
        escalation_reason=None,
        return_reason=None,
        sensitive=sensitive,
        custom_fields=dict(custom_fields or {}),
        external_id=external_id,
        follow_up_of_id=follow_up_of.id if follow_up_of is not None else None,
        merged_into_id=None,
        created_at=now,
        updated_at=now,
        solved_at=None,
        closed_at=None,
        sla_next_due_at=None,
        sla_check_at=None,
        tag_rows=[TicketTag(tag=t) for t in tag_list],
    )
    if assignee is not None:
        check_assignee(ticket, assignee)
        ticket.assignee = assignee
        ticket.assignee_id = assignee.id
        ticket.site_id = assignee.site_id
    writer = author or requester
    message = _build_message(
        ticket=ticket,
        author=writer,
        author_kind=AuthorKind.AGENT if author is not None and author.is_staff else AuthorKind.REQUESTER,
        public=public,
        channel=channel,
        at=now,
        body_html=body_html,
        body_text=body_text,
        store=store,
        attachments=attachments,
        email_message_id=email_message_id,
    )
    log = _opening_events(ticket, message, writer, author, follow_up_of, assignee, tag_list, now)
    # The SLA clocks start from these events, before any row exists, so the ticket's INSERT already
    # carries its due and check times; the events follow the rows in one statement (they name the ids).
    start_ticket_sla(session, ticket=ticket, clock=clock, events=log)
    if idempotency is None:
        _insert_opening(session, ticket, message)
    else:
        # Two deliveries of one key can both pass the check above; the unique key decides, and the
        # loser returns the winner's ticket (or Conflict when its body differed).
        try:
            with session.begin_nested():
                _insert_opening(session, ticket, message)
                session.connection().execute(
                    insert(IdempotencyKey),
                    {
                        "scope": scope,
                        "key": key,
                        "request_hash": fingerprint,
                        "ticket_id": ticket.id,
                        "created_at": now,
                    },
                )
        except IntegrityError:
            winner = replayed_ticket(session, scope=scope, key=key, fingerprint=fingerprint)
            if winner is None:
                raise
            return winner
    attach_inserted(session, [*ticket.tag_rows, *message.attachments, message, ticket])
    for item in log:
        item.subject_id = ticket.id
    log[-1].data["message_id"] = message.id
    write_events(session, log)
    for item in log:
        note_event(session, ticket.id, item.type, item.data)
    run_triggers(session, ticket=ticket, clock=clock, update_kind="created")
    if ticket.assignee_id is None:
        # Waiting work is assigned within a second of arriving, not at the router's next tick (after
        # the triggers, which may have assigned or routed it themselves).
        from opsdesk.desk.routing.triggers import request_drain_for_arrival

        request_drain_for_arrival(session, clock=clock)
    return ticket


_INSERT_TICKET = insert(Ticket).returning(Ticket.id)
_INSERT_MESSAGE = insert(Message).returning(Message.id)
_INSERT_ATTACHMENT = insert(Attachment).returning(Attachment.id)
_INSERT_TAGS = insert(TicketTag)


def _insert_opening(session: Session, ticket: Ticket, message: Message) -> None:
    """The new ticket's row, its tags, its first message and that message's attachments, as Core
    INSERTs (about half the CPU of a unit-of-work flush of the same rows); their ids are set on the
    objects, which the caller then attaches (``attach_inserted``)."""
    connection = session.connection()
    ticket.id = connection.execute(_INSERT_TICKET, column_values(ticket)).scalar_one()
    for tag in ticket.tag_rows:
        tag.ticket_id = ticket.id
    if ticket.tag_rows:
        connection.execute(_INSERT_TAGS, [column_values(tag) for tag in ticket.tag_rows])
    message.ticket_id = ticket.id
    message.id = connection.execute(_INSERT_MESSAGE, column_values(message)).scalar_one()
    for attachment in message.attachments:
        attachment.message_id = message.id
        attachment.id = connection.execute(_INSERT_ATTACHMENT, column_values(attachment)).scalar_one()


def _opening_events(
    ticket: Ticket,
    message: Message,
    writer: User,
    author: User | None,
    follow_up_of: Ticket | None,
    assignee: User | None,
    tag_list: list[str],
    at: datetime,
) -> list[Event]:
    """What a new ticket's log starts with, ending with its first message (whose id, like the
    ticket's, is filled in once the rows exist)."""

    def held(type: str, **data: Any) -> Event:
        return new_event(subject_type="ticket", subject_id=None, type=type, at=at, actor=writer, data=data)

    log = [
        held(
            "ticket_created",
            channel=ticket.channel.value,
            status=ticket.status.value,
            priority=ticket.priority.value,
            requester_id=ticket.requester.id,
            organisation_id=ticket.organisation_id,
            group_id=ticket.group.id if ticket.group is not None else None,
            tier=ticket.tier.value,
            tags=tag_list,
            created_by_agent=author is not None and author.is_staff,
            sensitive=ticket.sensitive,
        )
    ]
    if follow_up_of is not None:
        log.append(held("follow_up_created", of=follow_up_of.id))
    if ticket.sensitive:
        log.append(held("sensitivity_changed", sensitive=True))
    if assignee is not None:
        group_id = ticket.group.id if ticket.group is not None else None
        log.append(held("assigned", from_assignee_id=None, to_assignee_id=assignee.id, group_id=group_id))
    log.append(
        held(
            "message_added",
            message_id=None,
            public=message.public,
            author_kind=message.author_kind.value,
            channel=message.channel.value,
        )
    )
    return log


def _build_message(
    *,
    ticket: Ticket,
    author: User | None,
    author_kind: AuthorKind,
    public: bool,
    channel: Channel,
    at: datetime,
    body_html: str | None,
    body_text: str | None,
    store: AttachmentStore | None,
    attachments: Sequence[NewAttachment],
    email_message_id: str | None,
) -> Message:
    """A checked, sanitised message on ``ticket`` (pending in the ticket's session); files are stored."""
    html, text = message_bodies(body_html, body_text)
    if not text and not attachments:
        raise ValidationFailed("a message needs a body or an attachment", field="body")
    if attachments and store is None:
        raise ValidationFailed("attachments need an attachment store", field="attachments")
    if author_kind is AuthorKind.REQUESTER and not public:
        raise ValidationFailed("requesters cannot write internal notes", field="public")
    for item in attachments:
        assert store is not None
        store.check_size(len(item.data), safe_filename(item.filename))
    rows = []
    for item in attachments:
        assert store is not None
        rows.append(
            Attachment(
                message_id=None,
                filename=safe_filename(item.filename),
                content_type=(item.content_type or "application/octet-stream")[:200],
                size=len(item.data),
                sha256=hashlib.sha256(item.data).hexdigest(),
                storage_key=store.put(item.data),
            )
        )
    return Message(
        ticket=ticket,
        ticket_id=ticket.id,
        author=author,
        author_id=author.id if author is not None else None,
        author_kind=author_kind,
        public=public,
        channel=channel,
        body_html=html,
        body_text=text,
        email_message_id=email_message_id,
        created_at=at,
        attachments=rows,
    )


def _message_added(session: Session, message: Message, clock: Clock) -> Event:
    if message.id is None:
        session.flush()
    message.ticket.updated_at = message.created_at
    return _event(
        session,
        message.ticket,
        "message_added",
        clock,
        message.author,
        message_id=message.id,
        public=message.public,
        author_kind=message.author_kind.value,
        channel=message.channel.value,
    )


def _store_message(session: Session, *, clock: Clock, **fields: Any) -> Message:
    message = _build_message(at=clock.now(), **fields)
    session.add(message)
    _message_added(session, message, clock)
    return message


def add_message(
    session: Session,
    *,
    ticket: Ticket,
    author: User | None,
    author_kind: AuthorKind,
    public: bool,
    channel: Channel,
    clock: Clock,
    body_html: str | None = None,
    body_text: str | None = None,
    store: AttachmentStore | None = None,
    attachments: Sequence[NewAttachment] = (),
    email_message_id: str | None = None,
    deliver: bool = True,
) -> Message:
    """A reply or internal note. A requester's reply reopens a pending or solved ticket; the first
    public agent reply opens a new one. A closed ticket takes no more messages: the caller starts a
    follow-up with ``create_ticket(follow_up_of=...)``. ``deliver=False`` keeps a public reply off the
    outbound channels: a live chat delivers it to the visitor itself while they are online, and a brand
    post made on the social platform itself has already reached the customer there."""
    if ticket.status is Status.CLOSED:
        raise Conflict(
            f"ticket #{ticket.id} is closed; a reply to it starts a follow-up ticket", field="number"
        )
    if email_message_id:
        earlier = session.scalar(select(Message).where(Message.email_message_id == email_message_id))
        if earlier is not None:
            return earlier
    message = _store_message(
        session,
        ticket=ticket,
        author=author,
        author_kind=author_kind,
        public=public,
        channel=channel,
        clock=clock,
        body_html=body_html,
        body_text=body_text,
        store=store,
        attachments=attachments,
        email_message_id=email_message_id,
    )
    reopens = author_kind is AuthorKind.REQUESTER and ticket.status in (Status.PENDING, Status.SOLVED)
    first_answer = author_kind is AuthorKind.AGENT and public and ticket.status is Status.NEW
    if reopens or first_answer:
        _set_status(session, ticket, Status.OPEN, author, clock)
    # The ticket's change is complete here (delivery queues mail, it records no event and changes no
    # ticket field), so the SLA refresh comes first: the ticket's row is then written once.
    _after_change(session, ticket, clock)
    if author_kind is AuthorKind.AGENT and public and deliver:
        from opsdesk.desk.channels.delivery import deliver_public_reply

        deliver_public_reply(session, message=message, clock=clock)
    return message


def _set_status(session: Session, ticket: Ticket, to: Status, actor: User | None, clock: Clock) -> None:
    before = ticket.status
    if before is to:
        return
    ticket.status = to
    ticket.updated_at = clock.now()
    if to is Status.SOLVED:
        ticket.solved_at = clock.now()
    elif to is Status.CLOSED:
        ticket.closed_at = clock.now()
    _event(session, ticket, "status_changed", clock, actor, **{"from": before.value, "to": to.value})
    if ticket.assignee_id is not None:
        from opsdesk.desk.routing.presence import after_status_change

        after_status_change(session, ticket=ticket, before=before, clock=clock)


def _check_status_change(ticket: Ticket, to: Status) -> None:
    if ticket.status is Status.CLOSED and to is not Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed; closed is final", field="status")
    if to is Status.NEW and ticket.status is not Status.NEW:
        raise ValidationFailed("a ticket cannot go back to new", field="status")
    if to is Status.CLOSED and ticket.status not in (Status.SOLVED, Status.CLOSED):
        raise ValidationFailed("only a solved ticket can be closed; solve it first", field="status")


def change_status(session: Session, *, ticket: Ticket, to: Status, actor: User | None, clock: Clock) -> None:
    _check_status_change(ticket, to)
    _set_status(session, ticket, to, actor, clock)
    _after_change(session, ticket, clock)


def assign(
    session: Session,
    *,
    ticket: Ticket,
    assignee: User | None,
    actor: User | None,
    clock: Clock,
    group: Group | _Unset | None = UNSET,
) -> None:
    """Give the ticket to an agent (or nobody), optionally moving it to another group too."""
    _reassign(session, ticket, assignee, group, actor, clock)
    _after_change(session, ticket, clock)


def _reassign(
    session: Session,
    ticket: Ticket,
    assignee: User | _Unset | None,
    group: Group | _Unset | None,
    actor: User | None,
    clock: Clock,
) -> None:
    if ticket.status is Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed", field="status")
    if not isinstance(group, _Unset) and group is not ticket.group:
        before = ticket.group_id
        ticket.group = group
        if group is not None and group.tier is not None:
            ticket.tier = group.tier
        ticket.updated_at = clock.now()
        to = group.id if group is not None else None
        _event(session, ticket, "group_changed", clock, actor, **{"from": before, "to": to})
    if not isinstance(assignee, _Unset) and assignee is not ticket.assignee:
        if assignee is not None:
            check_assignee(ticket, assignee)
        before_id = ticket.assignee_id
        ticket.assignee = assignee
        if assignee is not None and assignee.site_id is not None:
            ticket.site_id = assignee.site_id
        ticket.updated_at = clock.now()
        session.flush()
        _event(
            session,
            ticket,
            "assigned",
            clock,
            actor,
            from_assignee_id=before_id,
            to_assignee_id=assignee.id if assignee is not None else None,
            group_id=ticket.group_id,
        )


def default_l2_group(session: Session) -> Group | None:
    """Where an escalation without a group goes: the first L2 group created (the lowest id), which
    `opsdesk demo` and a new desk create as their L2 team; None when the desk has no L2 group."""
    return session.scalars(select(Group).where(Group.tier == Tier.L2).order_by(Group.id).limit(1)).first()


def escalate(
    session: Session,
    *,
    ticket: Ticket,
    reason: str,
    actor: User | None,
    clock: Clock,
    group: Group | None = None,
) -> None:
    """Move an L1 ticket to L2, with the reason on record; an L1 assignee lets go of it. Without a
    group it goes to :func:`default_l2_group`, so that L2 sees it in its group's views."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("an escalation needs a reason", field="reason")
    if ticket.status is Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed", field="status")
    if ticket.tier is Tier.L2:
        raise Conflict(f"ticket #{ticket.id} is already with L2", field="tier")
    if group is not None and group.tier is not Tier.L2:
        raise ValidationFailed(
            f"group {group.name} is not an L2 group; escalate to an L2 group", field="group_id"
        )
    if group is None and (ticket.group is None or ticket.group.tier is not Tier.L2):
        group = default_l2_group(session)
    from_group_id = ticket.group_id
    ticket.tier = Tier.L2
    ticket.escalation_reason = reason[:2000]
    ticket.return_reason = None
    ticket.updated_at = clock.now()
    _move_to_tier_group(session, ticket, group, actor, clock)
    if ticket.assignee is not None and ticket.assignee.tier is Tier.L1:
        _reassign(session, ticket, None, UNSET, actor, clock)
    _event(
        session,
        ticket,
        "escalated",
        clock,
        actor,
        from_tier=Tier.L1.value,
        to_tier=Tier.L2.value,
        reason=reason[:2000],
        group_id=ticket.group_id,
        from_group_id=from_group_id,
    )
    _after_change(session, ticket, clock)


def return_to_l1(
    session: Session,
    *,
    ticket: Ticket,
    reason: str,
    actor: User | None,
    clock: Clock,
    group: Group | None = None,
) -> None:
    """Send an L2 ticket back to L1 (L2 found no defect, or L1 has what it needs), with the reason on
    record. Without a group it goes back to the L1 group it was escalated from, if any; an L2 assignee
    lets go of it."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("sending a ticket back to L1 needs a reason", field="reason")
    if ticket.status is Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed", field="status")
    if ticket.tier is not Tier.L2:
        raise Conflict(f"ticket #{ticket.id} is not with L2", field="tier")
    if group is not None and group.tier is not Tier.L1:
        raise ValidationFailed(
            f"group {group.name} is not an L1 group; send it to an L1 group", field="group_id"
        )
    if group is None:
        group = _escalated_from(session, ticket)
    ticket.tier = Tier.L1
    ticket.return_reason = reason[:2000]
    ticket.escalation_reason = None
    ticket.updated_at = clock.now()
    if group is not None:
        _move_to_tier_group(session, ticket, group, actor, clock)
    elif ticket.group is not None and ticket.group.tier is Tier.L2:
        _move_to_tier_group(session, ticket, None, actor, clock)
    if ticket.assignee is not None and ticket.assignee.tier is Tier.L2:
        _reassign(session, ticket, None, UNSET, actor, clock)
    _event(
        session,
        ticket,
        "returned_to_l1",
        clock,
        actor,
        from_tier=Tier.L2.value,
        to_tier=Tier.L1.value,
        reason=reason[:2000],
        group_id=ticket.group_id,
    )
    _after_change(session, ticket, clock)


def _move_to_tier_group(
    session: Session, ticket: Ticket, group: Group | None, actor: User | None, clock: Clock
) -> None:
    if group is ticket.group:
        return
    before = ticket.group_id
    ticket.group = group
    session.flush()
    _event(session, ticket, "group_changed", clock, actor, **{"from": before, "to": ticket.group_id})


def _escalated_from(session: Session, ticket: Ticket) -> Group | None:
    """The L1 group the ticket left at its latest escalation, as its ``escalated`` event records."""
    escalation = session.scalars(
        select(Event)
        .where(Event.subject_type == "ticket", Event.subject_id == ticket.id, Event.type == "escalated")
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
    group_id = escalation.data.get("from_group_id") if escalation is not None else None
    group = session.get(Group, group_id) if isinstance(group_id, int) else None
    return group if group is not None and group.tier is Tier.L1 else None


def update_ticket(
    session: Session,
    *,
    ticket: Ticket,
    actor: User | None,
    clock: Clock,
    status: Status | _Unset = UNSET,
    priority: Priority | _Unset = UNSET,
    type: TicketType | _Unset | None = UNSET,
    tags: Sequence[str] | _Unset = UNSET,
    custom_fields: dict[str, Any] | _Unset = UNSET,
    group: Group | _Unset | None = UNSET,
    assignee: User | _Unset | None = UNSET,
    sensitive: bool | _Unset = UNSET,
) -> None:
    """Change any of the given fields; each change is its own event. Custom fields merge (a None
    value removes the field), tags are replaced. All checks run before the first change."""
    if ticket.status is Status.CLOSED:
        raise Conflict(f"ticket #{ticket.id} is closed; closed is final", field="status")
    if not isinstance(status, _Unset):
        _check_status_change(ticket, status)
    new_tags = normalise_tags(tags) if not isinstance(tags, _Unset) else None
    if sensitive is True and not ticket.sensitive:
        target_assignee = ticket.assignee if isinstance(assignee, _Unset) else assignee
        if target_assignee is not None and not has_sensitive_access(target_assignee):
            raise ValidationFailed(
                f"{target_assignee.name} has no access to sensitive tickets; reassign it first",
                field="sensitive",
            )
    if isinstance(sensitive, bool) and sensitive is not ticket.sensitive:
        ticket.sensitive = sensitive
        _event(session, ticket, "sensitivity_changed", clock, actor, sensitive=sensitive)
    _reassign(session, ticket, assignee, group, actor, clock)
    if not isinstance(priority, _Unset) and priority is not ticket.priority:
        _event(
            session,
            ticket,
            "priority_changed",
            clock,
            actor,
            **{"from": ticket.priority.value, "to": priority.value},
        )
        ticket.priority = priority
    if not isinstance(type, _Unset) and type is not ticket.type:
        before = ticket.type.value if ticket.type else None
        ticket.type = type
        _event(
            session,
            ticket,
            "fields_changed",
            clock,
            actor,
            changed={"type": [before, type.value if type else None]},
        )
    if new_tags is not None:
        current = ticket.tags
        added = [t for t in new_tags if t not in current]
        removed = [t for t in current if t not in new_tags]
        if added or removed:
            ticket.tag_rows = [row for row in ticket.tag_rows if row.tag in new_tags] + [
                TicketTag(tag=t) for t in added
            ]
            _event(session, ticket, "tags_changed", clock, actor, added=added, removed=removed)
    if not isinstance(custom_fields, _Unset):
        merged = dict(ticket.custom_fields or {})
        changed: dict[str, list[Any]] = {}
        for name, value in custom_fields.items():
            old = merged.get(name)
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
            if old != value:
                changed[name] = [old, value]
        if changed:
            ticket.custom_fields = merged
            _event(session, ticket, "fields_changed", clock, actor, changed=changed)
    if not isinstance(status, _Unset):
        _set_status(session, ticket, status, actor, clock)
    ticket.updated_at = clock.now()
    _after_change(session, ticket, clock)


def merge_tickets(
    session: Session, *, source: Ticket, target: Ticket, actor: User | None, clock: Clock
) -> Ticket:
    """Fold ``source`` into ``target``: the source is closed with a note and keeps its messages, the
    target gets a note pointing back. Returns the target."""
    if source.id == target.id:
        raise ValidationFailed("a ticket cannot be merged into itself", field="into")
    if source.status is Status.CLOSED:
        raise Conflict(f"ticket #{source.id} is closed and cannot be merged", field="number")
    if target.status is Status.CLOSED:
        raise Conflict(f"ticket #{target.id} is closed; merge into an open ticket", field="into")
    if target.merged_into_id is not None:
        raise Conflict(f"ticket #{target.id} was itself merged", field="into")
    if source.sensitive and not target.sensitive:
        # The conversation continues on the target, so protected details must not move to an open ticket.
        raise ValidationFailed("a sensitive ticket can only be merged into a sensitive ticket", field="into")
    note_kind = AuthorKind.SYSTEM if actor is None else AuthorKind.AGENT
    for ticket, note in (
        (source, f"This ticket was closed and merged into ticket #{target.id}."),
        (target, f"Ticket #{source.id} was merged into this ticket."),
    ):
        _store_message(
            session,
            ticket=ticket,
            author=actor,
            author_kind=note_kind,
            public=False,
            channel=ticket.channel,
            clock=clock,
            body_html=None,
            body_text=note,
            store=None,
            attachments=(),
            email_message_id=None,
        )
    source.merged_into_id = target.id
    # Closed is reached through solved everywhere else; a merge closes directly, without a resolution.
    _set_status(session, source, Status.CLOSED, actor, clock)
    _event(session, source, "merged_into", clock, actor, target_id=target.id)
    _event(session, target, "merged_from", clock, actor, source_id=source.id)
    _after_change(session, source, clock)
    _after_change(session, target, clock)
    return target


def auto_close_solved(session: Session, *, clock: Clock, days: int) -> int:
    """Close tickets solved at least ``days`` ago; returns how many were closed."""
    cutoff = clock.now() - timedelta(days=days)
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.status == Status.SOLVED, Ticket.solved_at <= cutoff)
            .order_by(Ticket.id)
            .with_for_update(skip_locked=True)
        )
    )
    for ticket in tickets:
        _set_status(session, ticket, Status.CLOSED, None, clock)
        _event(session, ticket, "auto_closed", clock, None)
        _after_change(session, ticket, clock)
    return len(tickets)


def create_follow_up(
    session: Session,
    *,
    closed: Ticket,
    channel: Channel,
    clock: Clock,
    body_html: str | None = None,
    body_text: str | None = None,
    store: AttachmentStore | None = None,
    attachments: Sequence[NewAttachment] = (),
    email_message_id: str | None = None,
) -> Ticket:
    """A requester wrote to a closed ticket: a new ticket linked to it carries their message and the
    closed ticket's classification (subject, priority, type, tags, group, sensitivity)."""
    return create_ticket(
        session,
        requester=closed.requester,
        subject=closed.subject,
        body_html=body_html,
        body_text=body_text,
        channel=channel,
        clock=clock,
        store=store,
        priority=closed.priority,
        type=closed.type,
        tags=closed.tags,
        custom_fields=closed.custom_fields,
        group=closed.group,
        sensitive=closed.sensitive,
        email_message_id=email_message_id,
        attachments=attachments,
        follow_up_of=closed,
    )
