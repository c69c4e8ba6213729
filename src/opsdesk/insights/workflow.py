"""OpsDesk's own ticket workflows as an event log for process mining: status changes, assignments,
group changes, escalations, returns to L1 and messages, each with who held the ticket, its group and its
support level at that moment. Only tickets the reader may see are included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, Group, User
from opsdesk.desk.access import visible_to
from opsdesk.desk.models import Ticket

if TYPE_CHECKING:
    import pandas as pd

TICKET_EVENTS = (
    "ticket_created",
    "status_changed",
    "assigned",
    "group_changed",
    "escalated",
    "returned_to_l1",
    "message_added",
    "merged_into",
)


@dataclass(frozen=True)
class WorkflowFilter:
    """Tickets created in [start, end] (UTC days), on any of ``channels``, now in any of ``group_ids``;
    an empty tuple means all."""

    start: date | None = None
    end: date | None = None
    channels: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()


def _activity(kind: str, data: dict[str, Any]) -> str:
    if kind == "status_changed":
        return f"status {data.get('to')}"
    if kind == "assigned":
        return "assigned" if data.get("to_assignee_id") is not None else "unassigned"
    if kind == "message_added":
        if not data.get("public"):
            return "internal note"
        return (
            "customer reply" if data.get("author_kind") == "requester" else f"{data.get('author_kind')} reply"
        )
    return {
        "ticket_created": "created",
        "group_changed": "group changed",
        "escalated": "escalated to L2",
        "returned_to_l1": "returned to L1",
        "merged_into": "merged",
    }[kind]


def _held_values(rows: Sequence[tuple[int, str, dict[str, Any]]]) -> dict[str, list[Any]]:
    """The value each event sets (None where it sets none) of assignee, group and tier."""
    assignee: list[Any] = []
    group: list[Any] = []
    tier: list[Any] = []
    for _, kind, data in rows:
        assignee.append(data.get("to_assignee_id") if kind == "assigned" else None)
        group.append(
            data.get("group_id")
            if kind == "ticket_created"
            else data.get("to")
            if kind == "group_changed"
            else None
        )
        tier.append(data.get("tier") if kind == "ticket_created" else data.get("to_tier"))
    return {"assignee": assignee, "group": group, "tier": tier}


def ticket_event_log(session: Session, *, user: User, where: WorkflowFilter) -> pd.DataFrame:
    """Columns case (ticket number), activity, timestamp (UTC), channel, assignee, group, tier; in the
    order the events were appended. Assignee, group and tier are carried forward within a ticket from
    the event that set them; an unassignment clears the assignee."""
    import pandas as pd

    query = (
        select(Event.subject_id, Event.type, Event.data, Event.at, Ticket.channel)
        .join(Ticket, Ticket.id == Event.subject_id)
        .where(Event.subject_type == "ticket", Event.type.in_(TICKET_EVENTS), visible_to(user))
        .order_by(Event.id)
    )
    if where.start is not None:
        query = query.where(Ticket.created_at >= datetime.combine(where.start, time(), UTC))
    if where.end is not None:
        query = query.where(Ticket.created_at < datetime.combine(where.end + timedelta(days=1), time(), UTC))
    if where.channels:
        query = query.where(Ticket.channel.in_(where.channels))
    if where.group_ids:
        query = query.where(Ticket.group_id.in_(where.group_ids))
    rows = session.execute(query).all()
    events = [(number, kind, data or {}) for number, kind, data, _, _ in rows]
    held = _held_values(events)
    frame = pd.DataFrame(
        {
            "case": [number for number, _, _ in events],
            "activity": [_activity(kind, data) for _, kind, data in events],
            "timestamp": pd.to_datetime([at for *_, at, _ in rows], utc=True),
            "channel": [str(getattr(channel, "value", channel)) for *_, channel in rows],
            **{name: pd.array(values, dtype="Int64") for name, values in held.items() if name != "tier"},
            "tier": pd.array(held["tier"], dtype="string"),
        }
    )
    # An unassignment sets "nobody" (-1, so that carrying forward stops there), a group change to none
    # likewise; both become missing once carried.
    frame.loc[frame["activity"] == "unassigned", "assignee"] = -1
    frame.loc[(frame["activity"] == "group changed") & frame["group"].isna(), "group"] = -1
    for name in ("assignee", "group", "tier"):
        frame[name] = frame.groupby("case", sort=False)[name].ffill()
    for name in ("assignee", "group"):
        frame[name] = frame[name].mask(frame[name] == -1)
    names = dict(session.execute(select(Group.id, Group.name)).all())
    frame["group"] = frame["group"].map(names, na_action="ignore").astype("string")
    return frame


def reopens(frame: pd.DataFrame) -> int:
    """Solved tickets opened again: a status change away from solved to anything but closed."""
    statuses = frame[frame["activity"].str.startswith("status ")]
    same_case = statuses["case"].shift(-1) == statuses["case"]
    leaves_solved = (statuses["activity"] == "status solved") & ~statuses["activity"].shift(-1).isin(
        ["status solved", "status closed"]
    )
    return int((same_case & leaves_solved).sum())


def workflow_report(session: Session, *, user: User, where: WorkflowFilter) -> dict[str, Any]:
    """The mining report of the desk's own tickets: variants, the directly-follows graph, bottlenecks,
    rework (repeated steps, reopens, reassignment ping-pong between agents and groups, L1 -> L2 -> L1)
    and time in each status per group."""
    from opsdesk.insights.mining.log import event_log
    from opsdesk.insights.mining.report import empty_report, mining_report
    from opsdesk.insights.mining.rework import ping_pong_summary

    frame = ticket_event_log(session, user=user, where=where)
    if frame.empty:
        report = empty_report()
        report["rework"]["reopens"] = 0
        return report
    names = dict(session.execute(select(User.id, User.name)).all())
    frame["assignee"] = frame["assignee"].map(names, na_action="ignore").astype("string")
    log = event_log(
        frame,
        case="case",
        activity="activity",
        timestamp="timestamp",
        attributes=["assignee", "group", "tier"],
    )
    report = mining_report(log, resource="assignee", group="group")
    report["rework"]["ping_pong"].append(ping_pong_summary(log, "tier"))
    report["rework"]["reopens"] = reopens(frame)
    return report
