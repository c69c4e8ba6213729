"""Checks a rule must pass before it is stored (pure): its conditions compile, its actions are well
formed, and a time rule cannot fire on the same ticket every few minutes for ever.

A time rule is re-tested every run, so unless it is once per ticket, one of its actions must make its
own conditions false: set a field its conditions require to be something else, add a tag they exclude,
remove a tag they require. Otherwise saving it is refused, naming ``once_per_ticket``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.automation.conditions import NUMBER_FIELDS, compile_conditions, condition_list
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.automation.plan import validate_actions

TIME_FIELDS = NUMBER_FIELDS


def _as_set(value: Any) -> set[Any]:
    items = value if isinstance(value, list) else [value]
    return {v.lower() if isinstance(v, str) else v for v in items}


def falsified_by(condition: Mapping[str, Any], actions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether carrying out ``actions`` is sure to make ``condition`` false."""
    field, op, value = condition["field"], condition["op"], condition.get("value")
    for action in actions:
        name = action["action"]
        if name == "set_field" and action["field"] == field and op in ("is", "in", "is_not", "not_in"):
            new = action["value"].lower() if isinstance(action["value"], str) else action["value"]
            wanted = _as_set(value)
            if op in ("is", "in") and new not in wanted:
                return True
            if op in ("is_not", "not_in") and new in wanted:
                return True
        if field == "tier" and name == "escalate" and op in ("is", "in") and _as_set(value) == {"l1"}:
            return True
        if (
            field == "tags"
            and name == "add_tags"
            and op == "excludes"
            and _as_set(value) & set(action["tags"])
        ):
            return True
        if field == "tags" and name == "remove_tags" and op in ("includes", "includes_all"):
            wanted = _as_set(value)
            if (op == "includes" and wanted <= set(action["tags"])) or (
                op == "includes_all" and wanted & set(action["tags"])
            ):
                return True
        if (
            field in ("group", "assignee")
            and name in ("route", "assign")
            and op in ("is", "in", "is_not", "not_in")
        ):
            key = "group" if name == "route" else "assignee"
            if key != field:
                continue
            new = action[key].lower() if isinstance(action[key], str) else action[key]
            wanted = _as_set(value)
            if (op in ("is", "in") and new not in wanted) or (op in ("is_not", "not_in") and new in wanted):
                return True
    return False


def check_rule(
    *, kind: RuleKind, conditions: Any, actions: Any, once_per_ticket: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The rule's conditions and actions as stored; ValidationFailed naming the field at fault."""
    if conditions is None:
        conditions = {}
    compile_conditions(conditions)
    stored_conditions = {
        key: list(conditions.get(key) or []) for key in ("all", "any") if conditions.get(key)
    }
    stored_actions = validate_actions(actions)
    if kind is RuleKind.TIME:
        every = condition_list(stored_conditions, "all")
        some = condition_list(stored_conditions, "any")
        if not any(c["field"] in TIME_FIELDS for c in every):
            raise ValidationFailed(
                "a time rule needs an 'all' condition on hours_since_created, hours_since_updated, "
                "hours_since_pending, hours_since_solved or hours_until_breach",
                field="conditions.all",
            )
        self_falsifying = any(falsified_by(c, stored_actions) for c in every) or (
            bool(some) and all(falsified_by(c, stored_actions) for c in some)
        )
        if not (self_falsifying or once_per_ticket):
            raise ValidationFailed(
                "this time rule would fire on the same ticket at every run: add an action that makes one "
                "of its conditions false (e.g. add a tag the conditions exclude), or make it once per ticket",
                field="once_per_ticket",
            )
    return stored_conditions, stored_actions
