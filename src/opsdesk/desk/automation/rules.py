"""Every write to rules: create, change, delete, each one transaction with its audit event, each
bumping the "automation" configuration version so every process recompiles its rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.config_versions import bump_version
from opsdesk.core.errors import Conflict, NotFound, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.desk.automation.execute import group_by_name, user_by_email
from opsdesk.desk.automation.models import Rule, RuleKind
from opsdesk.desk.automation.snapshot import AUTOMATION_CONFIG
from opsdesk.desk.automation.validation import check_rule

MAX_NAME = 200
_AGENT_ROLES = (Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN)


def check_references(session: Session, actions: Sequence[dict[str, Any]], *, field: str = "actions") -> None:
    """Groups and agents that actions name must exist when the rule is saved."""
    for i, action in enumerate(actions):
        group = action.get("group") if action["action"] in ("route", "escalate") else None
        if group and group_by_name(session, group) is None:
            raise ValidationFailed(f"there is no group named {group!r}", field=f"{field}[{i}].group")
        if action["action"] == "assign" and action["assignee"] is not None:
            agent = user_by_email(session, action["assignee"])
            if agent is None or agent.role not in _AGENT_ROLES or not agent.active:
                raise ValidationFailed(
                    f"{action['assignee']} is not an active agent", field=f"{field}[{i}].assignee"
                )


def _name(session: Session, name: str, rule_id: int | None) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(f"a rule needs a name of 1 to {MAX_NAME} characters", field="name")
    other = session.scalar(select(Rule.id).where(Rule.name == name))
    if other is not None and other != rule_id:
        raise Conflict(f"a rule named {name!r} exists already", field="name")
    return name


def _event(session: Session, rule: Rule, type: str, actor: User | None, clock: Clock, **data: Any) -> None:
    session.flush()
    append_event(
        session,
        subject_type="automation_rule",
        subject_id=rule.id,
        type=type,
        at=clock.now(),
        actor=actor,
        data=data,
    )


def create_rule(
    session: Session,
    *,
    name: str,
    kind: RuleKind,
    conditions: Any,
    actions: Any,
    actor: User | None,
    clock: Clock,
    position: int = 100,
    active: bool = True,
    once_per_ticket: bool = False,
    description: str = "",
) -> Rule:
    stored_conditions, stored_actions = check_rule(
        kind=kind, conditions=conditions, actions=actions, once_per_ticket=once_per_ticket
    )
    check_references(session, stored_actions)
    now = clock.now()
    rule = Rule(
        name=_name(session, name, None),
        kind=kind,
        position=position,
        active=active,
        description=description[:2000],
        conditions=stored_conditions,
        actions=stored_actions,
        once_per_ticket=once_per_ticket,
        failures=0,
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    _event(session, rule, "automation_rule_created", actor, clock, name=rule.name, kind=kind.value)
    bump_version(session, AUTOMATION_CONFIG)
    return rule


def update_rule(session: Session, *, rule: Rule, actor: User | None, clock: Clock, **changes: Any) -> Rule:
    """Change any of name, position, active, description, conditions, actions, once_per_ticket;
    the whole rule is checked again. Re-activating a rule clears its failure count."""
    unknown = set(changes) - {
        "name",
        "position",
        "active",
        "description",
        "conditions",
        "actions",
        "once_per_ticket",
    }
    if unknown:
        raise ValidationFailed(f"rules have no {', '.join(sorted(unknown))}", field=min(unknown))
    conditions = changes.get("conditions", rule.conditions)
    actions = changes.get("actions", rule.actions)
    once = changes.get("once_per_ticket", rule.once_per_ticket)
    stored_conditions, stored_actions = check_rule(
        kind=rule.kind, conditions=conditions, actions=actions, once_per_ticket=once
    )
    check_references(session, stored_actions)
    if "name" in changes:
        rule.name = _name(session, changes["name"], rule.id)
    if "position" in changes:
        rule.position = int(changes["position"])
    if "description" in changes:
        rule.description = str(changes["description"])[:2000]
    if "active" in changes:
        if changes["active"] and not rule.active:
            rule.failures, rule.disabled_at = 0, None
        rule.active = bool(changes["active"])
    rule.conditions, rule.actions, rule.once_per_ticket = stored_conditions, stored_actions, once
    rule.updated_at = clock.now()
    _event(session, rule, "automation_rule_changed", actor, clock, fields=sorted(changes))
    bump_version(session, AUTOMATION_CONFIG)
    return rule


def delete_rule(session: Session, *, rule: Rule, actor: User | None, clock: Clock) -> None:
    _event(session, rule, "automation_rule_deleted", actor, clock, name=rule.name)
    session.delete(rule)
    bump_version(session, AUTOMATION_CONFIG)


def rule_by_id(session: Session, rule_id: int) -> Rule:
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"there is no rule {rule_id}", field="rule_id")
    return rule


def rule_by_name(session: Session, name: str) -> Rule | None:
    return session.scalar(select(Rule).where(Rule.name == name))


def list_rules(session: Session, kind: RuleKind | None = None) -> list[Rule]:
    query = select(Rule).order_by(Rule.kind, Rule.position, Rule.id)
    if kind is not None:
        query = query.where(Rule.kind == kind)
    return list(session.scalars(query))
