"""Carries out a planned change on a live ticket through the desk's own actions, so each change is the
same event a person's change would be (with the rule named on it, see ``changes.RULE_CONTEXT``).

Outbound webhooks are not delivered here. The "webhook" action appends an
``automation_webhook_requested`` event on the ticket, in the same transaction as the rule's other
changes, with the payload ``{"rule_id": int, "rule": str, "subscription": <subscription name>,
"body": {...}}``; the outbound-webhook dispatcher delivers such events to the named subscription
(signing, retries and the dead-letter list are its business). A rolled-back change therefore never
calls a webhook, and a committed one always reaches the dispatcher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.jobs import enqueue
from opsdesk.core.models import Group, User
from opsdesk.core.notifications import notify
from opsdesk.desk import actions
from opsdesk.desk.models import AuthorKind, Priority, Status, Ticket, TicketType

WEBHOOK_EVENT = "automation_webhook_requested"
NOTIFY_EVENT = "agent_notified"


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def group_by_name(session: Session, name: str) -> Group | None:
    return session.scalar(select(Group).where(func.lower(Group.name) == name.lower()))


def _group(session: Session, name: str) -> Group:
    group = group_by_name(session, name)
    if group is None:
        raise ValidationFailed(f"there is no group named {name!r}", field="group")
    return group


def carry_out(
    session: Session,
    *,
    ticket: Ticket,
    planned: Sequence[Mapping[str, Any]],
    actor: User | None,
    clock: Clock,
    origin: Mapping[str, Any],
) -> None:
    """Each planned change, in order. ``actor`` is None for rules (the system) and the agent for a
    macro; ``origin`` names the rule or macro on the events this function appends itself."""
    for change in planned:
        name = change["action"]
        if name == "set_field":
            field, value = change["field"], change["to"]
            if field == "status":
                actions.update_ticket(session, ticket=ticket, actor=actor, clock=clock, status=Status(value))
            elif field == "priority":
                actions.update_ticket(
                    session, ticket=ticket, actor=actor, clock=clock, priority=Priority(value)
                )
            elif field == "type":
                kind = TicketType(value) if value is not None else None
                actions.update_ticket(session, ticket=ticket, actor=actor, clock=clock, type=kind)
            else:
                actions.update_ticket(
                    session,
                    ticket=ticket,
                    actor=actor,
                    clock=clock,
                    custom_fields={field[len("custom.") :]: value},
                )
        elif name == "add_tags":
            actions.update_ticket(
                session, ticket=ticket, actor=actor, clock=clock, tags=[*ticket.tags, *change["tags"]]
            )
        elif name == "remove_tags":
            gone = set(change["tags"])
            actions.update_ticket(
                session,
                ticket=ticket,
                actor=actor,
                clock=clock,
                tags=[t for t in ticket.tags if t not in gone],
            )
        elif name == "assign":
            assignee = None
            if change["to"] is not None:
                assignee = user_by_email(session, change["to"])
                if assignee is None:
                    raise ValidationFailed(f"there is no agent {change['to']}", field="assignee")
            actions.assign(session, ticket=ticket, assignee=assignee, actor=actor, clock=clock)
        elif name == "route":
            actions.update_ticket(
                session, ticket=ticket, actor=actor, clock=clock, group=_group(session, change["to"])
            )
        elif name == "escalate":
            group = _group(session, change["group"]) if change.get("group") else None
            actions.escalate(
                session, ticket=ticket, reason=change["reason"], actor=actor, clock=clock, group=group
            )
        elif name in ("reply", "note"):
            _write(session, ticket, change["text"], public=name == "reply", actor=actor, clock=clock)
        elif name == "email":
            _email(session, ticket, change, actor=actor, clock=clock)
        elif name == "notify":
            _notify(session, ticket, change, clock=clock, origin=origin)
        elif name == "webhook":
            append_event(
                session,
                subject_type="ticket",
                subject_id=ticket.id,
                type=WEBHOOK_EVENT,
                at=clock.now(),
                actor=actor,
                data={**origin, "subscription": change["subscription"], "body": change["body"]},
            )


def _write(
    session: Session, ticket: Ticket, text: str, *, public: bool, actor: User | None, clock: Clock
) -> Any:
    """A reply or note; a rule writes as the system, and its public reply is sent like an agent's."""
    message = actions.add_message(
        session,
        ticket=ticket,
        author=actor,
        author_kind=AuthorKind.AGENT if actor is not None else AuthorKind.SYSTEM,
        public=public,
        channel=ticket.channel,
        clock=clock,
        body_text=text,
    )
    if public and actor is None:
        from opsdesk.desk.channels.delivery import deliver_public_reply

        deliver_public_reply(session, message=message, clock=clock)
    return message


def _email(
    session: Session, ticket: Ticket, change: Mapping[str, Any], *, actor: User | None, clock: Clock
) -> None:
    """An email to someone about the ticket, through the outbound mail outbox: the text is kept on
    the ticket as an internal note, and the outbox sends that note to the address."""
    from opsdesk.desk.channels.email.models import OutboundEmail, OutboundStatus
    from opsdesk.desk.channels.email.outbound import SEND_MAIL

    to = change["to"]
    if to == "requester":
        to = ticket.requester.email
    elif to == "assignee":
        to = ticket.assignee.email if ticket.assignee is not None else None
    if not to:
        return  # nobody to write to: nothing is queued, as for a requester without an address
    note = _write(
        session, ticket, change["text"] or change["subject"], public=False, actor=actor, clock=clock
    )
    session.flush()
    now = clock.now()
    row = OutboundEmail(
        message_id=note.id,
        to=to,
        cc=[],
        subject=change["subject"],
        in_reply_to=None,
        references="",
        status=OutboundStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    enqueue(session, SEND_MAIL, clock=clock, key=f"{SEND_MAIL}:{row.id}")


def _notify(
    session: Session, ticket: Ticket, change: Mapping[str, Any], *, clock: Clock, origin: Mapping[str, Any]
) -> None:
    """An in-app notification per agent (core.notifications: the unread count in the navigation and
    /notifications), and an event. A sensitive ticket's notice says only which ticket: the rule's text
    may quote it, and a group member without sensitive access may not read it."""
    if change["to"] == "assignee":
        people = [ticket.assignee] if ticket.assignee is not None else []
    else:
        people = list(ticket.group.members) if ticket.group is not None else []
    for person in people:
        if person is None or not person.active:
            continue
        append_event(
            session,
            subject_type="ticket",
            subject_id=ticket.id,
            type=NOTIFY_EVENT,
            at=clock.now(),
            data={**origin, "user_id": person.id, "text": change["text"][:2000]},
        )
        title = f"Ticket #{ticket.id} needs you" if ticket.sensitive else change["text"]
        notify(
            session,
            user_id=person.id,
            kind="automation",
            title=f"{origin.get('rule', 'Automation')}: {title}",
            link=f"/tickets/{ticket.id}",
            clock=clock,
        )
