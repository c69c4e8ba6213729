"""Dry run: a rule, before it is saved, replayed against the last N days of the event log, reporting
which tickets it would have changed and how (the same planned changes a real firing records).

Each ticket with an event in the window is rebuilt from its whole log, event by event. A trigger is
tested after each update (the ticket events one action appends: those at the same instant by the same
actor), as it would have been at the end of that action; a time rule is tested every hour of the
window. When the rule would have fired, its changes are applied to the rebuilt ticket, so later tests
see them, as they would have. What the log does not record is taken as the ticket is now (subject,
requester, organisation and its attributes); the text of messages is not replayed, and neither is the
time to the next SLA breach (``hours_until_breach`` is unknown in a replay; ``sla.breached`` holds from
an ``sla_breached`` event until the ticket is solved).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event
from opsdesk.desk.automation.changes import changes_from_events
from opsdesk.desk.automation.conditions import compile_conditions
from opsdesk.desk.automation.execute import group_by_name, user_by_email
from opsdesk.desk.automation.facts import Directory, LatestMessage, TicketView, facts_for, template_context
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.automation.plan import plan_actions
from opsdesk.desk.automation.validation import check_rule
from opsdesk.desk.models import Ticket

MAX_DAYS = 90
MAX_TICKETS = 20_000
TIME_STEP = timedelta(hours=1)
UPDATE_EVENTS = frozenset(
    {
        "ticket_created",
        "status_changed",
        "priority_changed",
        "fields_changed",
        "tags_changed",
        "group_changed",
        "assigned",
        "escalated",
        "returned_to_l1",
        "sensitivity_changed",
        "message_added",
        "merged_into",
        "merged_from",
        "auto_closed",
    }
)


@dataclass
class DryRunReport:
    rule: str
    kind: str
    days: int
    since: datetime
    until: datetime
    tickets_examined: int = 0
    firings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tickets_changed(self) -> int:
        return len({f["ticket_id"] for f in self.firings})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "days": self.days,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "tickets_examined": self.tickets_examined,
            "tickets_changed": self.tickets_changed,
            "firings": [{**f, "at": f["at"].isoformat()} for f in self.firings],
        }


def _opening_view(ticket: Ticket, created: Event) -> TicketView:
    data = created.data
    return TicketView(
        id=ticket.id,
        subject=ticket.subject,
        status=data.get("status", "new"),
        priority=data.get("priority", "normal"),
        type=None,
        channel=data.get("channel", ticket.channel.value),
        tier=data.get("tier", "L1"),
        group_id=data.get("group_id"),
        assignee_id=None,
        site_id=None,
        sensitive=bool(data.get("sensitive")),
        tags=frozenset(data.get("tags") or ()),
        custom={},
        requester_id=data.get("requester_id", ticket.requester_id),
        organisation_id=data.get("organisation_id", ticket.organisation_id),
        created_at=created.at,
        updated_at=created.at,
        solved_at=None,
        sla_next_due_at=None,
        pending_since=None,
        latest_message=None,
    )


def apply_event(view: TicketView, event: Event, breached: bool) -> tuple[TicketView, bool]:
    """The ticket after one logged event (and whether an SLA target stands breached)."""
    data, at, kind = event.data, event.at, event.type
    changes: dict[str, Any] = {}
    if kind == "status_changed":
        to = data.get("to")
        changes.update(status=to, pending_since=at if to == "pending" else None)
        if to == "solved":
            changes["solved_at"] = at
            breached = False
    elif kind == "priority_changed":
        changes["priority"] = data.get("to")
    elif kind == "fields_changed":
        custom = dict(view.custom)
        for name, pair in (data.get("changed") or {}).items():
            if name == "type":
                changes["type"] = pair[1]
            elif pair[1] is None:
                custom.pop(name, None)
            else:
                custom[name] = pair[1]
        changes["custom"] = custom
    elif kind == "tags_changed":
        changes["tags"] = (view.tags - set(data.get("removed") or ())) | set(data.get("added") or ())
    elif kind == "group_changed":
        changes["group_id"] = data.get("to")
    elif kind == "assigned":
        changes["assignee_id"] = data.get("to_assignee_id")
    elif kind in ("escalated", "returned_to_l1"):
        changes["tier"] = data.get("to_tier", view.tier)
    elif kind == "sensitivity_changed":
        changes["sensitive"] = bool(data.get("sensitive"))
    elif kind == "message_added":
        changes["latest_message"] = LatestMessage(bool(data.get("public")), str(data.get("author_kind")), "")
    elif kind == "sla_breached":
        breached = True
    if kind in UPDATE_EVENTS:
        changes["updated_at"] = at
    return (view.evolve(**changes) if changes else view), breached


def apply_plan(
    view: TicketView, planned: Sequence[Mapping[str, Any]], directory: Directory, at: datetime
) -> TicketView:
    """The rebuilt ticket once the rule's changes are made."""
    changes: dict[str, Any] = {"updated_at": at}
    tags = set(view.tags)
    custom = dict(view.custom)
    for change in planned:
        name = change["action"]
        if name == "set_field":
            target = change["field"]
            if target.startswith("custom."):
                custom[target[len("custom.") :]] = change["to"]
            else:
                changes[target] = change["to"]
                if target == "status" and change["to"] == "solved":
                    changes["solved_at"] = at
                if target == "status":
                    changes["pending_since"] = at if change["to"] == "pending" else None
        elif name == "add_tags":
            tags.update(change["tags"])
        elif name == "remove_tags":
            tags.difference_update(change["tags"])
        elif name == "assign":
            agent = user_by_email(directory.session, change["to"]) if change["to"] else None
            changes["assignee_id"] = agent.id if agent is not None else None
        elif name == "route":
            group = group_by_name(directory.session, change["to"])
            changes["group_id"] = group.id if group is not None else view.group_id
        elif name == "escalate":
            changes["tier"] = "L2"
            group = group_by_name(directory.session, change["group"]) if change.get("group") else None
            if group is not None:
                changes["group_id"] = group.id
        elif name in ("reply", "note"):
            changes["latest_message"] = LatestMessage(name == "reply", "system", change["text"])
    return view.evolve(tags=frozenset(tags), custom=custom, **changes)


def _updates(events: Sequence[Event]) -> Iterator[list[Event]]:
    """The log cut into updates: consecutive events at one instant by one actor."""
    for _key, group in groupby(events, key=lambda e: (e.at, e.actor_id)):
        yield list(group)


def dry_run(
    session: Session,
    *,
    name: str,
    kind: RuleKind,
    conditions: Any,
    actions: Any,
    once_per_ticket: bool,
    days: int,
    clock: Clock,
) -> DryRunReport:
    """What the rule would have done over the last ``days`` days; the rule is checked as on save."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"a dry run looks back 1 to {MAX_DAYS} days", field="days")
    stored_conditions, stored_actions = check_rule(
        kind=kind, conditions=conditions, actions=actions, once_per_ticket=once_per_ticket
    )
    matches = compile_conditions(stored_conditions)
    until = clock.now()
    since = until - timedelta(days=days)
    report = DryRunReport(rule=name, kind=kind.value, days=days, since=since, until=until)
    ticket_ids = list(
        session.scalars(
            select(Event.subject_id)
            .where(Event.subject_type == "ticket", Event.at >= since, Event.at <= until)
            .distinct()
            .order_by(Event.subject_id)
            .limit(MAX_TICKETS)
        )
    )
    directory = Directory(session)
    for start in range(0, len(ticket_ids), 200):
        chunk = ticket_ids[start : start + 200]
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(chunk)))}
        logs = session.scalars(
            select(Event)
            .where(Event.subject_type == "ticket", Event.subject_id.in_(chunk), Event.at <= until)
            .order_by(Event.subject_id, Event.id)
        )
        for ticket_id, log in groupby(logs, key=lambda e: e.subject_id):
            ticket = tickets.get(ticket_id)
            events = list(log)
            if ticket is None or not events or events[0].type != "ticket_created":
                continue
            report.tickets_examined += 1
            replay = _replay_trigger if kind is RuleKind.TRIGGER else _replay_time_rule
            firings = replay(
                ticket, events, matches, stored_actions, name, once_per_ticket, directory, since, until
            )
            if ticket.sensitive:
                firings = [{**f, "changes": [_redacted(c) for c in f["changes"]]} for f in firings]
            report.firings.extend(firings)
    report.firings.sort(key=lambda f: (f["at"], f["ticket_id"]))
    return report


REDACTED = "(sensitive ticket: text not shown)"


def _redacted(change: Mapping[str, Any]) -> dict[str, Any]:
    """A sensitive ticket's planned change without the rendered texts, which may quote protected
    details: the report says what would change, not what would be written."""
    out = dict(change)
    for key in ("text", "subject"):
        if key in out:
            out[key] = REDACTED
    if "body" in out:
        out["body"] = dict.fromkeys(out["body"], REDACTED)
    return out


def _fire(
    view: TicketView,
    directory: Directory,
    matches: Any,
    actions: Sequence[Mapping[str, Any]],
    name: str,
    *,
    at: datetime,
    update: str,
    changes: Mapping[str, tuple[Any, Any]],
    breached: bool,
) -> list[dict[str, Any]]:
    facts = facts_for(view, directory, now=at, update=update, changes=changes)
    facts["sla.breached"] = breached
    facts["hours_until_breach"] = None
    if not matches(facts):
        return []
    return plan_actions(actions, facts, template_context(facts, rule=name))


def _replay_trigger(
    ticket: Ticket,
    events: Sequence[Event],
    matches: Any,
    actions: Sequence[Mapping[str, Any]],
    name: str,
    _once: bool,
    directory: Directory,
    since: datetime,
    _until: datetime,
) -> list[dict[str, Any]]:
    view = _opening_view(ticket, events[0])
    breached = False
    firings: list[dict[str, Any]] = []
    for update in _updates(events):
        for event in update:
            if event.type != "ticket_created":
                view, breached = apply_event(view, event, breached)
        types = {e.type for e in update}
        if not types & UPDATE_EVENTS or update[0].at < since:
            continue
        kind = "created" if "ticket_created" in types else "updated"
        planned = _fire(
            view, directory, matches, actions, name,
            at=update[0].at, update=kind, changes=changes_from_events((e.type, e.data) for e in update),
            breached=breached,
        )  # fmt: skip
        if planned:
            firings.append({"ticket_id": ticket.id, "at": update[0].at, "changes": planned})
            view = apply_plan(view, planned, directory, update[0].at)
    return firings


def _replay_time_rule(
    ticket: Ticket,
    events: Sequence[Event],
    matches: Any,
    actions: Sequence[Mapping[str, Any]],
    name: str,
    once: bool,
    directory: Directory,
    since: datetime,
    until: datetime,
) -> list[dict[str, Any]]:
    view = _opening_view(ticket, events[0])
    breached = False
    firings: list[dict[str, Any]] = []
    position = 1
    tick = since + TIME_STEP
    while tick <= until:
        while position < len(events) and events[position].at <= tick:
            view, breached = apply_event(view, events[position], breached)
            position += 1
        if view.created_at <= tick and view.status != "closed" and not (once and firings):
            planned = _fire(
                view, directory, matches, actions, name, at=tick, update="time", changes={}, breached=breached
            )
            if planned:
                firings.append({"ticket_id": ticket.id, "at": tick, "changes": planned})
                view = apply_plan(view, planned, directory, tick)
        tick += TIME_STEP
    return firings
