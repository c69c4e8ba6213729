"""What a delivery's body says about an event. Need-to-know holds outside too: an event about a
sensitive ticket carries only ids and its type, unless an admin marked the subscription as allowed to
receive sensitive data."""

from __future__ import annotations

import json
from typing import Any

from opsdesk.core.models import Event
from opsdesk.desk.models import Ticket

# A rule's "call an outbound webhook" action (desk.automation) appends this event; its payload names the
# subscription and holds the body to send: {"rule_id", "subscription", "body"}.
AUTOMATION_REQUEST = "automation_webhook_requested"
# The webhooks' own bookkeeping is never delivered, so a failing delivery cannot feed itself.
OWN_EVENT_PREFIX = "webhook_"


def ticket_ids_of(event: Event) -> list[int]:
    """The tickets an event is about: its subject, and a ticket named in its data."""
    ids = [event.subject_id] if event.subject_type == "ticket" else []
    named = (event.data or {}).get("ticket_id")
    if isinstance(named, int) and not isinstance(named, bool):
        ids.append(named)
    return ids


def _ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "channel": ticket.channel.value,
        "tier": ticket.tier.value,
        "group_id": ticket.group_id,
        "assignee_id": ticket.assignee_id,
        "requester_id": ticket.requester_id,
        "organisation_id": ticket.organisation_id,
        "tags": ticket.tags,
        "sensitive": ticket.sensitive,
    }


def body_for(event: Event, tickets: dict[int, Ticket], *, allow_sensitive: bool) -> str:
    """The JSON text signed and sent for ``event`` (``tickets``: those it is about, by id)."""
    about = [tickets[i] for i in ticket_ids_of(event) if i in tickets]
    withheld = any(t.sensitive for t in about) and not allow_sensitive
    timestamp = event.at.isoformat()
    if withheld:
        data: dict[str, Any] = {
            "event_id": event.id,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "sensitive": True,
        }
        return _dump({"type": event.type, "timestamp": timestamp, "data": data})
    if event.type == AUTOMATION_REQUEST:
        return _dump((event.data or {}).get("body", {}))
    data = {
        "event_id": event.id,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "actor_id": event.actor_id,
        "changes": event.data or {},
    }
    # The ticket as it is when the event is dispatched (seconds later), beside what the event changed.
    if event.subject_type == "ticket" and event.subject_id in tickets:
        data["ticket"] = _ticket_summary(tickets[event.subject_id])
    return _dump({"type": event.type, "timestamp": timestamp, "data": data})


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
