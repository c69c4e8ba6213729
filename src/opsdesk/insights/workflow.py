"""OpsDesk's own ticket workflows as an event log for process mining: status changes, assignments,
group changes, escalations, returns to L1 and messages, each with who held the ticket, its group and its
support level at that moment. Only tickets the reader may see are included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, select, type_coerce
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


_NAMED = {
    "ticket_created": "created",
    "group_changed": "group changed",
    "escalated": "escalated to L2",
    "returned_to_l1": "returned to L1",
    "merged_into": "merged",
}


def _activities(frame: pd.DataFrame) -> pd.Series:
    """The activity of each event, from its type and the fields it carries (vectorised)."""
    import numpy as np
    import pandas as pd

    kind = frame["type"].to_numpy(dtype=object)
    status = "status " + frame["to"].astype("string").fillna("")
    author = frame["author_kind"].astype("string").fillna("agent")
    reply = (author.where(author != "requester", "customer") + " reply").where(
        frame["public"].astype("boolean").fillna(False).astype(bool), "internal note"
    )
    assigned = np.where(frame["to_assignee_id"].isna(), "unassigned", "assigned")
    named = pd.Series(kind).map(_NAMED).to_numpy(dtype=object)
    return pd.Series(
        np.select(
            [kind == "status_changed", kind == "message_added", kind == "assigned"],
            [status.to_numpy(dtype=object), reply.to_numpy(dtype=object), assigned],
            default=named,
        ),
        index=frame.index,
        dtype="string",
    )


def ticket_event_log(session: Session, *, user: User, where: WorkflowFilter) -> pd.DataFrame:
    """Columns case (ticket number), activity, timestamp (UTC), channel, assignee, group, tier; in the
    order the events were appended. Assignee, group and tier are carried forward within a ticket from
    the event that set them; an unassignment clears the assignee. The event fields are read in SQL,
    so no Python runs per event."""
    import pandas as pd

    data = Event.data
    query = (
        select(
            Event.subject_id.label("case"),
            Event.type,
            # Read as the driver gives them (text on SQLite), parsed once per column below, not per row.
            type_coerce(Event.at, String).label("timestamp"),
            type_coerce(Ticket.channel, String).label("channel"),
            data["to"].as_string().label("to"),
            data["to_assignee_id"].as_integer().label("to_assignee_id"),
            data["group_id"].as_integer().label("group_id"),
            data["tier"].as_string().label("tier"),
            data["to_tier"].as_string().label("to_tier"),
            data["public"].as_boolean().label("public"),
            data["author_kind"].as_string().label("author_kind"),
        )
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
    result = session.connection().execute(query)
    raw = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    kind = raw["type"]
    frame = pd.DataFrame(
        {
            "case": raw["case"].astype("int64"),
            "activity": _activities(raw),
            "timestamp": pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601"),
            "channel": raw["channel"].astype("string").str.lower(),
            # What each event sets; -1 = "nobody" / "no group", so that carrying forward stops there.
            "assignee": raw["to_assignee_id"].astype("Int64").where(kind == "assigned").astype("Int64"),
            "group": pd.to_numeric(
                raw["group_id"].where(kind == "ticket_created", raw["to"].where(kind == "group_changed")),
                errors="coerce",
            ).astype("Int64"),
            "tier": raw["tier"].where(kind == "ticket_created", raw["to_tier"]).astype("string"),
        }
    )
    frame.loc[(kind == "assigned") & frame["assignee"].isna(), "assignee"] = -1
    frame.loc[(kind == "group_changed") & frame["group"].isna(), "group"] = -1
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
