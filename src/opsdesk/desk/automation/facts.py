"""What rules test: a ticket's facts, as a mapping that computes each fact the first time a rule asks
for it (most rules test two or three fields; nobody pays for business hours or the organisation's
attributes unless a rule reads them).

The facts are built from a :class:`TicketView`, a plain snapshot that a live ticket gives directly
and the dry run rebuilds from the event log, so both evaluate exactly the same facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, Group, Organisation, Site, User
from opsdesk.core.organisation_attributes import attributes_of
from opsdesk.desk.automation.conditions import CHANGES
from opsdesk.desk.automation.templates import first_name
from opsdesk.desk.models import Message, Ticket

HOUR = 3600.0


@dataclass(frozen=True)
class LatestMessage:
    public: bool
    author_kind: str
    text: str


@dataclass(frozen=True)
class TicketView:
    """The rule-relevant state of one ticket at one moment."""

    id: int
    subject: str
    status: str
    priority: str
    type: str | None
    channel: str
    tier: str
    group_id: int | None
    assignee_id: int | None
    site_id: int | None
    sensitive: bool
    tags: frozenset[str]
    custom: Mapping[str, Any]
    requester_id: int
    organisation_id: int | None
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    sla_next_due_at: datetime | None
    pending_since: datetime | Callable[[], datetime | None] | None = None
    latest_message: LatestMessage | Callable[[], LatestMessage | None] | None = None

    def evolve(self, **changes: Any) -> TicketView:
        return replace(self, **changes)


def view_of(session: Session, ticket: Ticket) -> TicketView:
    """A live ticket's view; when it entered pending and its latest message are read only if asked."""

    def pending_since() -> datetime | None:
        if ticket.status.value != "pending":
            return None
        return (
            session.scalar(
                select(Event.at)
                .where(
                    Event.subject_type == "ticket",
                    Event.subject_id == ticket.id,
                    Event.type == "status_changed",
                )
                .order_by(Event.id.desc())
                .limit(1)
            )
            or ticket.updated_at
        )

    def latest_message() -> LatestMessage | None:
        row = session.execute(
            select(Message.public, Message.author_kind, Message.body_text)
            .where(Message.ticket_id == ticket.id)
            .order_by(Message.id.desc())
            .limit(1)
        ).first()
        return LatestMessage(bool(row[0]), row[1].value, row[2] or "") if row is not None else None

    return TicketView(
        id=ticket.id,
        subject=ticket.subject,
        status=ticket.status.value,
        priority=ticket.priority.value,
        type=ticket.type.value if ticket.type is not None else None,
        channel=ticket.channel.value,
        tier=ticket.tier.value,
        group_id=ticket.group.id if ticket.group is not None else ticket.group_id,
        assignee_id=ticket.assignee.id if ticket.assignee is not None else ticket.assignee_id,
        site_id=ticket.site_id,
        sensitive=bool(ticket.sensitive),
        tags=frozenset(ticket.tags),
        custom=dict(ticket.custom_fields or {}),
        requester_id=ticket.requester_id,
        organisation_id=ticket.organisation_id,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        solved_at=ticket.solved_at,
        sla_next_due_at=ticket.sla_next_due_at,
        pending_since=pending_since,
        latest_message=latest_message,
    )


@dataclass
class Directory:
    """Names for ids (groups, agents, sites, people, organisations), read once per run."""

    session: Session
    _org_attributes: dict[int, dict[str, str | None]] = field(default_factory=dict)

    def group_name(self, group_id: int | None) -> str | None:
        group = self.session.get(Group, group_id) if group_id is not None else None
        return group.name if group is not None else None

    def group_by_name(self, name: str) -> Group | None:
        return self.session.scalar(select(Group).where(Group.name == name))

    def user(self, user_id: int | None) -> User | None:
        return self.session.get(User, user_id) if user_id is not None else None

    def user_email(self, user_id: int | None) -> str | None:
        user = self.user(user_id)
        return user.email.lower() if user is not None and user.email else None

    def site_name(self, site_id: int | None) -> str | None:
        site = self.session.get(Site, site_id) if site_id is not None else None
        return site.name if site is not None else None

    def organisation(self, organisation_id: int | None) -> Organisation | None:
        return self.session.get(Organisation, organisation_id) if organisation_id is not None else None

    def organisation_attributes(self, organisation_id: int | None) -> dict[str, str | None]:
        if organisation_id is None:
            return {}
        if organisation_id not in self._org_attributes:
            self._org_attributes[organisation_id] = attributes_of(self.session, organisation_id)
        return self._org_attributes[organisation_id]

    def within_business_hours(self, view: TicketView, at: datetime) -> bool:
        """Whether the schedule of the SLA policy that applies to the ticket is open at ``at`` (no
        policy, or a policy without a schedule, means always open)."""
        from opsdesk.desk.sla.policies import TicketFacts, select_policy
        from opsdesk.desk.sla.policy_cache import policy_snapshot

        org = self.organisation(view.organisation_id)
        customer_tags = view.tags | frozenset(org.tags or []) if org is not None else view.tags
        policy = select_policy(
            policy_snapshot(self.session).policies,
            TicketFacts(priority=view.priority, channel=view.channel, customer_tags=frozenset(customer_tags)),
        )
        if policy is None:
            return True
        hours = policy.calendar_at(at)
        is_open = getattr(hours, "is_open", None)
        return bool(is_open(at)) if is_open is not None else True


def _resolved(value: Any) -> Any:
    return value() if callable(value) else value


def _hours(since: datetime | None, now: datetime) -> float | None:
    return (now - since).total_seconds() / HOUR if since is not None else None


class Facts(dict[str, Any]):
    """A fact is computed by its provider the first time it is read, then kept."""

    def __init__(
        self,
        providers: Mapping[str, Callable[[], Any]],
        prefixed: Mapping[str, Callable[[str], Any]],
        **known: Any,
    ) -> None:
        super().__init__(known)
        self._providers = providers
        self._prefixed = prefixed

    def __missing__(self, key: str) -> Any:
        provider = self._providers.get(key)
        if provider is not None:
            value = provider()
        else:
            prefix, _, rest = key.partition(".")
            if key.startswith("organisation.attributes."):
                value = self._prefixed["organisation.attributes"](key[len("organisation.attributes.") :])
            elif prefix in self._prefixed:
                value = self._prefixed[prefix](rest)
            else:
                raise KeyError(key)
        self[key] = value
        return value


def facts_for(
    view: TicketView,
    directory: Directory,
    *,
    now: datetime,
    update: str,
    changes: Mapping[str, tuple[Any, Any]],
) -> Facts:
    """The facts of ``view`` at ``now``; ``update`` is created, updated or time; ``changes`` maps each
    changed field to (before, after)."""

    def requester() -> User | None:
        return directory.user(view.requester_id)

    def organisation() -> Organisation | None:
        return directory.organisation(view.organisation_id)

    def latest() -> LatestMessage | None:
        value = _resolved(view.latest_message)
        return value if isinstance(value, LatestMessage) else None

    def requester_email() -> str | None:
        person = requester()
        return person.email.lower() if person is not None and person.email else None

    providers: dict[str, Callable[[], Any]] = {
        "group": lambda: directory.group_name(view.group_id),
        "assignee": lambda: directory.user_email(view.assignee_id),
        "site": lambda: directory.site_name(view.site_id),
        "requester.email": requester_email,
        "requester.name": lambda: p.name if (p := requester()) is not None else None,
        "requester.first_name": lambda: first_name(p.name if (p := requester()) is not None else None),
        "requester.domain": lambda: e.rpartition("@")[2] if (e := requester_email()) else None,
        "requester.languages": lambda: frozenset(
            (p.languages or []) if (p := requester()) is not None else []
        ),
        "organisation.name": lambda: o.name if (o := organisation()) is not None else None,
        "organisation.domain": lambda: o.domain if (o := organisation()) is not None else None,
        "organisation.tags": lambda: frozenset((o.tags or []) if (o := organisation()) is not None else []),
        "latest_message.public": lambda: m.public if (m := latest()) is not None else None,
        "latest_message.author_kind": lambda: m.author_kind if (m := latest()) is not None else None,
        "latest_message.text": lambda: m.text if (m := latest()) is not None else None,
        "hours_since_pending": lambda: _hours(_resolved(view.pending_since), now),
        "within_business_hours": lambda: directory.within_business_hours(view, now),
    }
    prefixed: dict[str, Callable[[str], Any]] = {
        "custom": lambda name: None if (v := view.custom.get(name)) is None else str(v),
        "organisation.attributes": lambda name: directory.organisation_attributes(view.organisation_id).get(
            name
        ),
    }
    due = view.sla_next_due_at
    return Facts(
        providers,
        prefixed,
        id=view.id,
        subject=view.subject,
        status=view.status,
        priority=view.priority,
        type=view.type,
        channel=view.channel,
        tier=view.tier,
        group_id=view.group_id,
        assignee_id=view.assignee_id,
        sensitive=view.sensitive,
        tags=view.tags,
        requester_id=view.requester_id,
        organisation_id=view.organisation_id,
        update=update,
        hours_since_created=_hours(view.created_at, now),
        hours_since_updated=_hours(view.updated_at, now),
        hours_since_solved=_hours(view.solved_at, now) if view.status in ("solved", "closed") else None,
        hours_until_breach=-_hours(due, now) if due is not None else None,  # type: ignore[operator]
        **{"sla.breached": due is not None and due <= now, CHANGES: _named(changes, directory)},
    )


def _named(changes: Mapping[str, tuple[Any, Any]], directory: Directory) -> dict[str, tuple[Any, Any]]:
    """Group and assignee changes by name, as conditions name them."""
    out = dict(changes)
    if "group_id" in out:
        before, after = out["group_id"]
        out["group"] = (directory.group_name(before), directory.group_name(after))
    if "assignee_id" in out:
        before, after = out["assignee_id"]
        out["assignee"] = (directory.user_email(before), directory.user_email(after))
    return out


def template_context(
    facts: Mapping[str, Any], *, rule: str | None = None, agent: User | None = None
) -> dict[str, Any]:
    """What reply, note, email and webhook templates see."""
    return {
        "ticket": {
            "id": facts["id"],
            "subject": facts["subject"],
            "status": facts["status"],
            "priority": facts["priority"],
            "type": facts["type"],
            "channel": facts["channel"],
            "group": facts["group"],
            "assignee": facts["assignee"],
            "tags": sorted(facts["tags"]),
        },
        "requester": {
            "name": facts["requester.name"],
            "first_name": facts["requester.first_name"],
            "email": facts["requester.email"],
        },
        "organisation": {"name": facts["organisation.name"]},
        "rule": rule,
        "agent": {"name": agent.name, "first_name": first_name(agent.name)} if agent is not None else None,
    }
