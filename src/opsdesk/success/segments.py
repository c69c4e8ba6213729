"""Rule-based segmentation: a segment is an ordered list of conditions on account fields; an account
belongs to the first segment (by priority) whose conditions all hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsdesk.core.errors import ValidationFailed

FIELDS = ("covered_lives", "industry", "region", "stage", "name", "owner_email")
OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class SegmentRules:
    name: str
    priority: int
    rules: list[dict[str, Any]]


def band(low: int, high: int | None) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{"field": "covered_lives", "op": "gte", "value": low}]
    if high is not None:
        rules.append({"field": "covered_lives", "op": "lte", "value": high})
    return rules


# The five covered-lives bands every install starts with (priority leaves room for custom segments).
DEFAULT_BANDS = [
    SegmentRules("Small business", 1000, band(1, 99)),
    SegmentRules("Lower mid-market", 1001, band(100, 999)),
    SegmentRules("Upper mid-market", 1002, band(1000, 4999)),
    SegmentRules("Large", 1003, band(5000, 14999)),
    SegmentRules("Enterprise", 1004, band(15000, None)),
]


def validate_rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the rules in canonical form, or say which one is wrong."""
    if not rules:
        raise ValidationFailed("a segment needs at least one rule", field="rules")
    clean = []
    for index, rule in enumerate(rules):
        field, op, value = rule.get("field"), rule.get("op"), rule.get("value")
        where = f"rules[{index}]"
        if field not in FIELDS:
            raise ValidationFailed(f"{where}: field must be one of {', '.join(FIELDS)}", field=where)
        if op not in OPERATORS:
            raise ValidationFailed(f"{where}: op must be one of {', '.join(OPERATORS)}", field=where)
        if op == "in" and not isinstance(value, list):
            raise ValidationFailed(f"{where}: 'in' needs a list of values", field=where)
        if field == "covered_lives" and op != "in" and not isinstance(value, int):
            raise ValidationFailed(f"{where}: covered_lives compares with a whole number", field=where)
        clean.append({"field": field, "op": op, "value": value})
    return clean


def _holds(rule: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    actual, op, expected = attributes.get(rule["field"]), rule["op"], rule["value"]
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.casefold(), expected.casefold()
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        folded = [v.casefold() if isinstance(v, str) else v for v in expected]
        return (actual.casefold() if isinstance(actual, str) else actual) in folded
    if actual is None:
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def matching_segment(segments: Sequence[SegmentRules], attributes: Mapping[str, Any]) -> str | None:
    """The name of the first segment, by priority then name, whose rules all hold; None if none does."""
    for segment in sorted(segments, key=lambda s: (s.priority, s.name)):
        if all(_holds(rule, attributes) for rule in segment.rules):
            return segment.name
    return None
