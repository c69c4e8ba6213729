"""Rules and macros as plain data (the CLI writes and reads it as YAML), so a team can keep its
automation in git: export everything, edit, import. Import updates by name (a macro by name and owner)
and creates the rest, all in one transaction: a file with one bad entry changes nothing, and the error
names the entry (``rules[3] 'Close abandoned'``) and the key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import OpsDeskError, ValidationFailed
from opsdesk.core.models import User
from opsdesk.desk.automation import macros, rules
from opsdesk.desk.automation.execute import user_by_email
from opsdesk.desk.automation.models import Macro, RuleKind

FORMAT_VERSION = 1
RULE_KEYS = {"name", "kind", "position", "active", "description", "once_per_ticket", "conditions", "actions"}
MACRO_KEYS = {"name", "owner", "shared", "active", "reply_public", "reply_template", "actions"}


def export_config(session: Session) -> dict[str, Any]:
    out_rules = [
        {
            "name": r.name,
            "kind": r.kind.value,
            "position": r.position,
            "active": r.active,
            "description": r.description,
            "once_per_ticket": r.once_per_ticket,
            "conditions": r.conditions,
            "actions": r.actions,
        }
        for r in rules.list_rules(session)
    ]
    owners = {u.id: u.email for u in session.scalars(select(User).where(User.id.in_(select(Macro.owner_id))))}
    out_macros = [
        {
            "name": m.name,
            "owner": owners.get(m.owner_id) if m.owner_id is not None else None,
            "shared": m.shared,
            "active": m.active,
            "reply_public": m.reply_public,
            "reply_template": m.reply_template,
            "actions": m.actions,
        }
        for m in session.scalars(select(Macro).order_by(Macro.name, Macro.id))
    ]
    return {"version": FORMAT_VERSION, "rules": out_rules, "macros": out_macros}


@dataclass
class ImportSummary:
    rules_created: int = 0
    rules_updated: int = 0
    macros_created: int = 0
    macros_updated: int = 0


def _entry(item: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise ValidationFailed(f"{where}: an entry is a mapping with a name", field=where)
    unknown = set(item) - keys
    if unknown:
        raise ValidationFailed(f"{where}: unknown keys {', '.join(sorted(unknown))}", field=where)
    return dict(item)


def import_config(session: Session, data: Any, *, actor: User, clock: Clock) -> ImportSummary:
    """Apply an exported document; the caller's transaction holds every change."""
    if not isinstance(data, Mapping) or data.get("version") != FORMAT_VERSION:
        raise ValidationFailed(f"the document needs 'version: {FORMAT_VERSION}'", field="version")
    summary = ImportSummary()
    for i, raw in enumerate(data.get("rules") or []):
        entry = _entry(raw, f"rules[{i}]", RULE_KEYS)
        where = f"rules[{i}] {entry['name']!r}"
        try:
            kind = RuleKind(entry.pop("kind", "trigger"))
            existing = rules.rule_by_name(session, entry["name"])
            if existing is None:
                entry.setdefault("actions", [])
                rules.create_rule(session, kind=kind, actor=actor, clock=clock, **entry)
                summary.rules_created += 1
            else:
                if existing.kind is not kind:
                    raise ValidationFailed("a rule's kind cannot change; rename it", field="kind")
                rules.update_rule(session, rule=existing, actor=actor, clock=clock, **entry)
                summary.rules_updated += 1
        except ValueError as exc:
            raise ValidationFailed(f"{where}: {exc}", field=f"rules[{i}].kind") from None
        except OpsDeskError as exc:
            raise ValidationFailed(f"{where}: {exc.message}", field=f"rules[{i}].{exc.field or ''}") from None
    for i, raw in enumerate(data.get("macros") or []):
        entry = _entry(raw, f"macros[{i}]", MACRO_KEYS)
        where = f"macros[{i}] {entry['name']!r}"
        owner_email = entry.pop("owner", None)
        owner = user_by_email(session, owner_email) if owner_email else actor
        try:
            if owner is None:
                raise ValidationFailed(f"there is no user {owner_email}", field="owner")
            found = session.scalar(
                select(Macro).where(Macro.name == entry["name"], Macro.owner_id == owner.id)
            )
            if found is None:
                active = entry.pop("active", True)
                macro = macros.create_macro(session, owner=owner, clock=clock, **entry)
                macro.active = bool(active)
                summary.macros_created += 1
            else:
                macros.update_macro(session, macro=found, user=actor, clock=clock, **entry)
                summary.macros_updated += 1
        except OpsDeskError as exc:
            raise ValidationFailed(
                f"{where}: {exc.message}", field=f"macros[{i}].{exc.field or ''}"
            ) from None
    return summary
