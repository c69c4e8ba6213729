"""What a rule's actions would change on a ticket, worked out from its facts alone (pure).

The same plan is what a trigger executes (``automation.execute``), what the dry run reports and what
the ``automation_rule_fired`` event records, so a dry run and a real run can be compared line by line.
An action that would change nothing (a priority already set, a tag already there) is left out of the
plan, and a rule with an empty plan does not fire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.automation.templates import check_template, render
from opsdesk.desk.models import Priority, Status, TicketType

SETTABLE = {"status": Status, "priority": Priority, "type": TicketType}
RECIPIENT_ROLES = ("requester", "assignee")
NOTIFY_TARGETS = ("assignee", "group")
MAX_ACTIONS = 50
MAX_WEBHOOK_KEYS = 50

# Action name -> its keys besides "action" (required ones first, then optional ones).
ACTION_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "set_field": ({"field", "value"}, set()),
    "add_tags": ({"tags"}, set()),
    "remove_tags": ({"tags"}, set()),
    "assign": ({"assignee"}, set()),
    "route": ({"group"}, set()),
    "escalate": ({"reason"}, {"group"}),
    "reply": ({"template"}, set()),
    "note": ({"template"}, set()),
    "email": ({"to", "subject", "template"}, set()),
    "notify": ({"to", "template"}, set()),
    "webhook": ({"subscription"}, {"body"}),
}


def _text(value: Any, where: str, *, limit: int = 200, empty: bool = False) -> str:
    if (
        not isinstance(value, str)
        or (not empty and not value.strip())
        or len(value) > limit
        or "\x00" in value
    ):
        raise ValidationFailed(f"{where} must be text of at most {limit} characters", field=where)
    return value.strip()


def validate_actions(actions: Any, *, field: str = "actions") -> list[dict[str, Any]]:
    """The actions in their stored form; ValidationFailed naming the first bad key (``actions[2].to``).
    Names of groups and agents are checked against the database by the caller."""
    from opsdesk.desk.actions import normalise_tags

    if not isinstance(actions, list) or not actions or len(actions) > MAX_ACTIONS:
        raise ValidationFailed(f"{field} is a list of 1 to {MAX_ACTIONS} actions", field=field)
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(actions):
        where = f"{field}[{i}]"
        if not isinstance(raw, Mapping) or raw.get("action") not in ACTION_KEYS:
            raise ValidationFailed(
                f"{where}.action must be one of {', '.join(ACTION_KEYS)}", field=f"{where}.action"
            )
        name = str(raw["action"])
        required, optional = ACTION_KEYS[name]
        given = set(raw) - {"action"}
        if missing := required - given:
            raise ValidationFailed(
                f"{where}: {name} needs {', '.join(sorted(missing))}", field=f"{where}.{min(missing)}"
            )
        if extra := given - required - optional:
            raise ValidationFailed(
                f"{where}: {name} takes no {', '.join(sorted(extra))}", field=f"{where}.{min(extra)}"
            )
        item: dict[str, Any] = {"action": name}
        if name == "set_field":
            target = _text(raw["field"], f"{where}.field", limit=100)
            value = raw["value"]
            if target in SETTABLE:
                kind = SETTABLE[target]
                allowed = [m.value for m in kind]
                if not (value is None and target == "type") and value not in allowed:
                    raise ValidationFailed(
                        f"{where}.value: {target} is one of {', '.join(allowed)}", field=f"{where}.value"
                    )
                if target == "status" and value in ("new", "closed"):
                    raise ValidationFailed(
                        f"{where}.value: rules cannot set a ticket to {value}", field=f"{where}.value"
                    )
            elif target.startswith("custom.") and len(target) > 7:
                if value is not None and not isinstance(value, str | int | float | bool):
                    raise ValidationFailed(
                        f"{where}.value: a custom field holds a plain value", field=f"{where}.value"
                    )
            else:
                raise ValidationFailed(
                    f"{where}.field: rules set status, priority, type or custom.<name>",
                    field=f"{where}.field",
                )
            item.update(field=target, value=value)
        elif name in ("add_tags", "remove_tags"):
            tags = raw["tags"]
            if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
                raise ValidationFailed(f"{where}.tags is a list of tags", field=f"{where}.tags")
            try:
                item["tags"] = normalise_tags(tags)
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, field=f"{where}.tags") from None
        elif name == "assign":
            assignee = raw["assignee"]
            item["assignee"] = (
                None if assignee is None else _text(assignee, f"{where}.assignee", limit=320).lower()
            )
        elif name == "route":
            item["group"] = _text(raw["group"], f"{where}.group", limit=100)
        elif name == "escalate":
            item["reason"] = _text(raw["reason"], f"{where}.reason", limit=2000)
            group = raw.get("group")
            item["group"] = None if group is None else _text(group, f"{where}.group", limit=100)
        elif name in ("reply", "note"):
            item["template"] = check_template(
                _text(raw["template"], f"{where}.template", limit=20_000), f"{where}.template"
            )
        elif name == "email":
            to = _text(raw["to"], f"{where}.to", limit=320).lower()
            if to not in RECIPIENT_ROLES and "@" not in to:
                raise ValidationFailed(
                    f"{where}.to is requester, assignee or an address", field=f"{where}.to"
                )
            item.update(
                to=to,
                subject=check_template(
                    _text(raw["subject"], f"{where}.subject", limit=500), f"{where}.subject"
                ),
                template=check_template(
                    _text(raw["template"], f"{where}.template", limit=20_000), f"{where}.template"
                ),
            )
        elif name == "notify":
            to = _text(raw["to"], f"{where}.to", limit=320).lower()
            if to not in NOTIFY_TARGETS:
                raise ValidationFailed(f"{where}.to is assignee or group", field=f"{where}.to")
            item.update(
                to=to,
                template=check_template(
                    _text(raw["template"], f"{where}.template", limit=20_000), f"{where}.template"
                ),
            )
        elif name == "webhook":
            item["subscription"] = _text(raw["subscription"], f"{where}.subscription", limit=100)
            body = raw.get("body") or {}
            if not isinstance(body, Mapping) or len(body) > MAX_WEBHOOK_KEYS:
                raise ValidationFailed(f"{where}.body maps names to templates", field=f"{where}.body")
            item["body"] = {
                _text(k, f"{where}.body", limit=100): check_template(
                    _text(v, f"{where}.body.{k}", limit=5000, empty=True), f"{where}.body.{k}"
                )
                for k, v in body.items()
            }
        out.append(item)
    return out


def default_webhook_body(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ticket_id": facts["id"],
        "status": facts["status"],
        "priority": facts["priority"],
        "group": facts["group"],
        "tags": sorted(facts["tags"]),
    }


def plan_actions(
    actions: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The changes the actions would make to a ticket with these facts, in order. ``context`` is what
    templates see (``automation.facts.template_context``)."""
    planned: list[dict[str, Any]] = []
    tags = set(facts["tags"])
    current: dict[str, Any] = {}

    def now_value(field: str) -> Any:
        return current[field] if field in current else facts[field]

    for action in actions:
        name = action["action"]
        if name == "set_field":
            field, value = action["field"], action["value"]
            before = now_value(field)
            if before != value:
                planned.append({"action": name, "field": field, "from": before, "to": value})
                current[field] = value
        elif name == "add_tags":
            added = [t for t in action["tags"] if t not in tags]
            if added:
                tags.update(added)
                planned.append({"action": name, "tags": added})
        elif name == "remove_tags":
            removed = [t for t in action["tags"] if t in tags]
            if removed:
                tags.difference_update(removed)
                planned.append({"action": name, "tags": removed})
        elif name == "assign":
            before = now_value("assignee")
            if before != action["assignee"]:
                planned.append({"action": name, "from": before, "to": action["assignee"]})
                current["assignee"] = action["assignee"]
        elif name == "route":
            before = now_value("group")
            if (before or "").lower() != action["group"].lower():
                planned.append({"action": name, "from": before, "to": action["group"]})
                current["group"] = action["group"]
        elif name == "escalate":
            if now_value("tier") == "L1":
                planned.append({"action": name, "reason": action["reason"], "group": action["group"]})
                current["tier"] = "L2"
        elif name in ("reply", "note"):
            text = render(action["template"], context).strip()
            if text:
                planned.append({"action": name, "text": text})
        elif name == "email":
            planned.append(
                {
                    "action": name,
                    "to": action["to"],
                    "subject": " ".join(render(action["subject"], context).split())[:500] or "(no subject)",
                    "text": render(action["template"], context),
                }
            )
        elif name == "notify":
            planned.append({"action": name, "to": action["to"], "text": render(action["template"], context)})
        elif name == "webhook":
            body = action["body"]
            rendered = (
                {key: render(source, context) for key, source in body.items()}
                if body
                else default_webhook_body(facts)
            )
            planned.append({"action": name, "subscription": action["subscription"], "body": rendered})
    return planned


def facts_after(facts: Mapping[str, Any], planned: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The facts as they stand once ``planned`` is carried out (the dry run's simulated ticket)."""
    out = dict(facts)
    tags = set(out["tags"])
    for change in planned:
        name = change["action"]
        if name == "set_field":
            out[change["field"]] = change["to"]
        elif name == "add_tags":
            tags.update(change["tags"])
        elif name == "remove_tags":
            tags.difference_update(change["tags"])
        elif name == "assign":
            out["assignee"] = change["to"]
        elif name == "route":
            out["group"] = change["to"]
        elif name == "escalate":
            out["tier"] = "L2"
    out["tags"] = frozenset(tags)
    return out
