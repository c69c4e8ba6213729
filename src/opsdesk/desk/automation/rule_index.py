"""Which triggers can possibly match a ticket, without testing all of them (pure).

Most triggers require one discrete thing (a priority, a channel, a group, a tag, a status it changed
to). Each trigger is filed under one such required condition of its ``all`` list; a change then tests
only the triggers filed under the ticket's own values, plus those with no such condition. The result
is the same as testing every trigger, in the same order: the filed condition is still tested with the
rest, the index only skips triggers that would fail it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsdesk.desk.automation.conditions import CHANGES, ID_FIELDS, PREFIXED_TEXT, TEXT_FIELDS

_LIST_FIELDS = {"tags", "organisation.tags", "requester.languages"}


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def index_key(conditions: Mapping[str, Any]) -> tuple[str, str, tuple[Any, ...]] | None:
    """(kind, field, values) of the condition a trigger is filed under; None when it has none."""
    for condition in conditions.get("all") or []:
        field_name, op, value = condition.get("field"), condition.get("op"), condition.get("value")
        values = tuple(_norm(v) for v in (value if isinstance(value, list) else [value]))
        textual = (
            field_name in TEXT_FIELDS or field_name in ID_FIELDS or str(field_name).startswith(PREFIXED_TEXT)
        )
        if op in ("is", "in") and textual:
            return ("value", str(field_name), values)
        if op == "includes" and field_name in _LIST_FIELDS:
            return ("member", str(field_name), values)
        if op == "changed_to":
            return ("change", str(field_name), values)
    return None


@dataclass
class TriggerIndex:
    """Positions (in trigger order) filed by the value their filed condition needs."""

    size: int
    always: list[int] = field(default_factory=list)
    by_value: dict[str, dict[Any, list[int]]] = field(default_factory=dict)
    by_member: dict[str, dict[Any, list[int]]] = field(default_factory=dict)
    by_change: dict[str, dict[Any, list[int]]] = field(default_factory=dict)

    @classmethod
    def build(cls, keys: Sequence[tuple[str, str, tuple[Any, ...]] | None]) -> TriggerIndex:
        index = cls(size=len(keys))
        for position, key in enumerate(keys):
            if key is None:
                index.always.append(position)
                continue
            kind, name, values = key
            table = {"value": index.by_value, "member": index.by_member, "change": index.by_change}[kind]
            for value in set(values):
                table.setdefault(name, {}).setdefault(value, []).append(position)
        return index

    def candidates(self, facts: Mapping[str, Any]) -> list[int]:
        """Positions of the triggers that may match, in order."""
        found: set[int] = set(self.always)
        for name, table in self.by_value.items():
            hits = table.get(_norm(facts[name]))
            if hits:
                found.update(hits)
        for name, table in self.by_member.items():
            for member in facts[name]:
                hits = table.get(_norm(member))
                if hits:
                    found.update(hits)
        if self.by_change:
            changes = facts[CHANGES]
            for name, table in self.by_change.items():
                change = changes.get(name)
                if change is not None:
                    hits = table.get(_norm(change[1]))
                    if hits:
                        found.update(hits)
        return sorted(found)
