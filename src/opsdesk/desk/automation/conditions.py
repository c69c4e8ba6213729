"""The pure condition evaluator: a rule's ``{"all": [...], "any": [...]}`` compiled once into a
function of the ticket's facts (a mapping from field names to values, see ``automation.facts``).

A condition is ``{"field": ..., "op": ..., "value": ...}``. Compiling checks every field, operator
and value up front, so a stored rule cannot fail on a typo at run time, and evaluation is a chain of
small closures with no parsing: a thousand rules cost well under a millisecond on one change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opsdesk.core.errors import ValidationFailed

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]

CHANGES = "_changes"
"""The facts key holding what the update changed: ``{field: (before, after)}``."""

TEXT_FIELDS = frozenset(
    {
        "subject",
        "status",
        "priority",
        "type",
        "channel",
        "tier",
        "group",
        "assignee",
        "site",
        "update",
        "requester.email",
        "requester.name",
        "requester.domain",
        "organisation.name",
        "organisation.domain",
        "latest_message.author_kind",
        "latest_message.text",
    }
)
ID_FIELDS = frozenset({"group_id", "assignee_id", "requester_id", "organisation_id"})
LIST_FIELDS = frozenset({"tags", "organisation.tags", "requester.languages"})
NUMBER_FIELDS = frozenset(
    {
        "hours_since_created",
        "hours_since_updated",
        "hours_since_pending",
        "hours_since_solved",
        "hours_until_breach",
    }
)
BOOL_FIELDS = frozenset({"sensitive", "within_business_hours", "sla.breached", "latest_message.public"})
# Published by other domains (see core.organisation_attributes); any name under these prefixes.
PREFIXED_TEXT = ("organisation.attributes.", "custom.")

_ANY_VALUE = object()


def field_kind(field: str) -> str:
    """'text', 'id', 'list', 'number' or 'bool'; ValidationFailed for a field rules cannot test."""
    if field in TEXT_FIELDS or any(field.startswith(p) and len(field) > len(p) for p in PREFIXED_TEXT):
        return "text"
    if field in ID_FIELDS:
        return "id"
    if field in LIST_FIELDS:
        return "list"
    if field in NUMBER_FIELDS:
        return "number"
    if field in BOOL_FIELDS:
        return "bool"
    raise ValidationFailed(f"rules cannot test the field {field!r}", field="field")


OPERATORS: dict[str, frozenset[str]] = {
    "text": frozenset(
        {"is", "is_not", "in", "not_in", "contains", "not_contains", "present", "absent"}
        | {"changed", "not_changed", "changed_to", "changed_from"}
    ),
    "id": frozenset({"is", "is_not", "in", "not_in", "present", "absent", "changed", "not_changed"}),
    "list": frozenset({"includes", "includes_all", "excludes", "changed", "not_changed"}),
    "number": frozenset({"lt", "lte", "gt", "gte", "present", "absent"}),
    "bool": frozenset({"is", "changed", "not_changed"}),
}


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _values(raw: Any, where: str) -> frozenset[Any]:
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise ValidationFailed(f"{where}: give a value or a list of values", field=where)
    return frozenset(_norm(v) for v in items)


def compile_condition(condition: Mapping[str, Any], where: str = "condition") -> Predicate:
    """One condition as a predicate over facts; ValidationFailed naming ``where`` for a bad one."""
    if not isinstance(condition, Mapping):
        raise ValidationFailed(f"{where} must be an object with field, op and value", field=where)
    unknown = set(condition) - {"field", "op", "value"}
    if unknown:
        raise ValidationFailed(f"{where}: unknown keys {sorted(unknown)}", field=where)
    field, op, raw = condition.get("field"), condition.get("op"), condition.get("value", _ANY_VALUE)
    if not isinstance(field, str):
        raise ValidationFailed(f"{where}: field is required", field=f"{where}.field")
    try:
        kind = field_kind(field)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{where}: {exc.message}", field=f"{where}.field") from None
    if op not in OPERATORS[kind]:
        raise ValidationFailed(
            f"{where}: {field} takes the operators {', '.join(sorted(OPERATORS[kind]))}", field=f"{where}.op"
        )
    needs_value = op not in {"present", "absent", "changed", "not_changed"}
    if needs_value and raw is _ANY_VALUE:
        raise ValidationFailed(f"{where}: {op} needs a value", field=f"{where}.value")
    if op in {"changed", "not_changed", "changed_to", "changed_from"}:
        return _change_predicate(field, op, raw, where)
    if op == "present":
        return lambda facts: facts[field] not in (None, "", [], frozenset())
    if op == "absent":
        return lambda facts: facts[field] in (None, "", [], frozenset())
    if kind == "number":
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not -1e6 <= raw <= 1e6:
            raise ValidationFailed(f"{where}: {field} compares with a number", field=f"{where}.value")
        limit = float(raw)
        compare = {
            "lt": lambda v: v < limit,
            "lte": lambda v: v <= limit,
            "gt": lambda v: v > limit,
            "gte": lambda v: v >= limit,
        }[op]
        return lambda facts: (v := facts[field]) is not None and compare(v)
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ValidationFailed(f"{where}: {field} is true or false", field=f"{where}.value")
        return lambda facts: bool(facts[field]) is raw
    if kind == "list":
        wanted = _values(raw, f"{where}.value")
        if op == "includes":
            return lambda facts: not wanted.isdisjoint(facts[field])
        if op == "includes_all":
            return lambda facts: wanted <= facts[field]
        return lambda facts: wanted.isdisjoint(facts[field])
    if op in {"contains", "not_contains"}:
        if not isinstance(raw, str) or not raw:
            raise ValidationFailed(f"{where}: {op} takes some text", field=f"{where}.value")
        needle = raw.lower()
        if op == "contains":
            return lambda facts: needle in (facts[field] or "").lower()
        return lambda facts: needle not in (facts[field] or "").lower()
    if op in {"in", "not_in"} or isinstance(raw, list):
        options = _values(raw, f"{where}.value")
        if op in {"in", "is"}:
            return lambda facts: _norm(facts[field]) in options
        return lambda facts: _norm(facts[field]) not in options
    if raw is not None and (not isinstance(raw, str | int) or isinstance(raw, bool)):
        raise ValidationFailed(f"{where}: {field} compares with text or a number", field=f"{where}.value")
    target = _norm(raw)
    if op == "is":
        return lambda facts: _norm(facts[field]) == target
    return lambda facts: _norm(facts[field]) != target


def _change_predicate(field: str, op: str, raw: Any, where: str) -> Predicate:
    if op in {"changed_to", "changed_from"}:
        options = _values(raw, f"{where}.value")
        side = 1 if op == "changed_to" else 0
        return lambda facts: (c := facts[CHANGES].get(field)) is not None and _norm(c[side]) in options
    if op == "changed":
        return lambda facts: field in facts[CHANGES]
    return lambda facts: field not in facts[CHANGES]


def compile_conditions(conditions: Mapping[str, Any]) -> Predicate:
    """``all`` must all hold and, when ``any`` is given, at least one of it; empty matches every ticket."""
    if not isinstance(conditions, Mapping) or set(conditions) - {"all", "any"}:
        raise ValidationFailed("conditions is an object with the lists all and any", field="conditions")
    groups: dict[str, list[Predicate]] = {}
    for key in ("all", "any"):
        items = conditions.get(key) or []
        if not isinstance(items, list) or len(items) > 100:
            raise ValidationFailed(f"conditions.{key} is a list of at most 100", field=f"conditions.{key}")
        groups[key] = [compile_condition(c, f"conditions.{key}[{i}]") for i, c in enumerate(items)]
    every, some = tuple(groups["all"]), tuple(groups["any"])
    if not some:
        return lambda facts: all(p(facts) for p in every)
    return lambda facts: all(p(facts) for p in every) and any(p(facts) for p in some)


def fields_tested(conditions: Mapping[str, Any]) -> set[str]:
    return {c["field"] for key in ("all", "any") for c in conditions.get(key) or [] if isinstance(c, Mapping)}


def condition_list(conditions: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    return [c for c in conditions.get(key) or [] if isinstance(c, Mapping)]
