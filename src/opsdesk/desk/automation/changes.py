"""The change that happened, as rules see it: ticket events turned into ``{field: (before, after)}``.

Desk actions report each ticket event here as they append it (``note_event``), so the trigger run at
the end of the change knows what the change was without reading the log back; the dry run feeds the
same function from the stored log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

_PENDING = "opsdesk.automation.changes"
RULE_CONTEXT = "opsdesk.automation.rule"
"""session.info key: while a rule acts, the rule's id and name, which every ticket event then carries."""


def changes_of(event_type: str, data: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields one ticket event changed."""
    if event_type == "status_changed":
        return {"status": (data.get("from"), data.get("to"))}
    if event_type == "priority_changed":
        return {"priority": (data.get("from"), data.get("to"))}
    if event_type == "fields_changed":
        out: dict[str, tuple[Any, Any]] = {}
        for name, pair in (data.get("changed") or {}).items():
            key = name if name == "type" else f"custom.{name}"
            out[key] = (pair[0], pair[1])
        return out
    if event_type == "tags_changed":
        return {"tags": (tuple(data.get("removed") or ()), tuple(data.get("added") or ()))}
    if event_type == "group_changed":
        return {"group_id": (data.get("from"), data.get("to")), "group": (None, None)}
    if event_type == "assigned":
        return {
            "assignee_id": (data.get("from_assignee_id"), data.get("to_assignee_id")),
            "assignee": (None, None),
        }
    if event_type in ("escalated", "returned_to_l1"):
        return {"tier": (data.get("from_tier"), data.get("to_tier"))}
    if event_type == "sensitivity_changed":
        return {"sensitive": (not data.get("sensitive"), bool(data.get("sensitive")))}
    if event_type == "message_added":
        return {
            "latest_message.public": (None, bool(data.get("public"))),
            "latest_message.author_kind": (None, data.get("author_kind")),
            "latest_message.text": (None, None),
        }
    return {}


def merge(into: dict[str, tuple[Any, Any]], more: Mapping[str, tuple[Any, Any]]) -> None:
    """Later changes of a field keep the first 'before' and take the latest 'after'."""
    for key, (before, after) in more.items():
        into[key] = (into[key][0], after) if key in into else (before, after)


def note_event(session: Session, ticket_id: int | None, event_type: str, data: Mapping[str, Any]) -> None:
    """Called by desk actions for every ticket event they append."""
    if ticket_id is None:
        return
    found = changes_of(event_type, data)
    if found:
        pending: dict[int, dict[str, tuple[Any, Any]]] = session.info.setdefault(_PENDING, {})
        merge(pending.setdefault(ticket_id, {}), found)


def take_changes(session: Session, ticket_id: int) -> dict[str, tuple[Any, Any]]:
    pending = session.info.get(_PENDING)
    if not pending:
        return {}
    return pending.pop(ticket_id, None) or {}


def changes_from_events(events: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for event_type, data in events:
        merge(out, changes_of(event_type, data))
    return out


def rule_context(session: Session) -> dict[str, Any] | None:
    value = session.info.get(RULE_CONTEXT)
    return value if isinstance(value, dict) else None
