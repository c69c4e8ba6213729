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


def rules_as_lines(rules: Sequence[Mapping[str, Any]]) -> str:
    """A segment's rules as the page shows them: ``field op value`` a line, ``in`` values by commas."""
    lines = []
    for rule in rules:
        value = rule["value"]
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(f"{rule['field']} {rule['op']} {shown}")
    return "\n".join(lines)


def _typed(field: str, text: str, line: int) -> Any:
    if field != "covered_lives":
        return text
    try:
        return int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValidationFailed(
            f"line {line}: covered_lives compares with a whole number, not {text[:20]!r}", field="rules"
        ) from None


def rules_from_lines(text: str) -> list[dict[str, Any]]:
    """The typed lines back into rules, checked; an error names the line."""
    rules: list[dict[str, Any]] = []
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    for number, line in numbered:
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise ValidationFailed(
                f"line {number}: write it as 'field op value', e.g. 'covered_lives gte 100'", field="rules"
            )
        field, op, raw = parts
        if field not in FIELDS:
            raise ValidationFailed(f"line {number}: field must be one of {', '.join(FIELDS)}", field="rules")
        if op not in OPERATORS:
            raise ValidationFailed(f"line {number}: op must be one of {', '.join(OPERATORS)}", field="rules")
        if op == "in":
            value: Any = [_typed(field, v.strip(), number) for v in raw.split(",") if v.strip()]
        else:
            value = _typed(field, raw.strip(), number)
        rules.append({"field": field, "op": op, "value": value})
    return validate_rules(rules)
