"""A view's filters as plain data (what the list page's query string and a YAML file hold) and their
check: each key is one the ticket list supports, each value in range, so a saved view can never hold
a filter the list would refuse or silently ignore."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsdesk.core.bounds import MAX_ID, no_nul
from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.models import Channel, Priority, Status
from opsdesk.desk.queries import VIEWS, TicketFilters

LIST_KEYS = {"status": Status, "priority": Priority, "channel": Channel}
ID_KEYS = ("assignee_id", "group_id", "requester_id", "organisation_id")
FILTER_KEYS = (*LIST_KEYS, *ID_KEYS, "tag", "view")


def clean(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The filters in their stored shape (lists of values, ints, text), empty ones left out."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in FILTER_KEYS:
            raise ValidationFailed(f"{key!r} is not a ticket filter; use {', '.join(FILTER_KEYS)}", field=key)
        if value in (None, "", []):
            continue
        if key in LIST_KEYS:
            values = value if isinstance(value, list) else [value]
            choices = [m.value for m in LIST_KEYS[key]]
            for item in values:
                if item not in choices:
                    raise ValidationFailed(f"{key} must be among {', '.join(choices)}", field=key)
            out[key] = list(dict.fromkeys(values))
        elif key in ID_KEYS:
            number = int(value) if isinstance(value, str) and value.isdigit() else value
            if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= MAX_ID:
                raise ValidationFailed(f"{key} must be a whole number from 1 to {MAX_ID}", field=key)
            out[key] = number
        elif key == "view":
            if value not in VIEWS:
                raise ValidationFailed(f"view must be one of {', '.join(VIEWS)}", field=key)
            out[key] = value
        else:
            if not isinstance(value, str) or len(value) > 80:
                raise ValidationFailed("tag must be text of at most 80 characters", field=key)
            out[key] = no_nul(value).strip().lower()
    return out


def to_filters(stored: Mapping[str, Any]) -> TicketFilters:
    data = clean(stored)
    return TicketFilters(
        status=[Status(s) for s in data.get("status", [])],
        priority=[Priority(p) for p in data.get("priority", [])],
        channel=[Channel(c) for c in data.get("channel", [])],
        assignee_id=data.get("assignee_id"),
        group_id=data.get("group_id"),
        requester_id=data.get("requester_id"),
        organisation_id=data.get("organisation_id"),
        tag=data.get("tag"),
        view=data.get("view"),
    )
