"""Subscriptions as plain data for a YAML file a team keeps in git: export, and import that creates or
updates by name. Secrets never leave: an export has none, and an import makes a new secret for a new
subscription (reported once) unless the entry gives one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk.outbound_webhooks import actions, queries
from opsdesk.desk.outbound_webhooks.models import WebhookSubscription

FIELDS = {"name", "url", "event_types", "active", "allow_sensitive", "secret"}


def export_subscriptions(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "url": s.url,
            "event_types": list(s.event_types),
            "active": s.active,
            "allow_sensitive": s.allow_sensitive,
        }
        for s in queries.subscriptions(session)
    ]


@dataclass
class Imported:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    new_secrets: dict[str, str] = field(default_factory=dict)


def _entry(raw: object, index: int) -> dict[str, Any]:
    where = f"entry {index + 1}"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: expected a mapping with name, url and event_types", field=where)
    unknown = set(raw) - FIELDS
    if unknown:
        raise ValidationFailed(f"{where}: unknown field {sorted(unknown)[0]!r}", field=where)
    for key in ("name", "url"):
        if not isinstance(raw.get(key), str):
            raise ValidationFailed(f"{where}: {key} must be text", field=where)
    types = raw.get("event_types")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ValidationFailed(f"{where}: event_types must be a list of event types", field=where)
    for key in ("active", "allow_sensitive"):
        if key in raw and not isinstance(raw[key], bool):
            raise ValidationFailed(f"{where}: {key} must be true or false", field=where)
    if "secret" in raw and not isinstance(raw["secret"], str):
        raise ValidationFailed(f"{where}: secret must be text", field=where)
    return raw


def import_subscriptions(session: Session, data: object, *, clock: Clock, settings: Settings) -> Imported:
    """All entries or none: the caller's transaction rolls back on the first bad one, whose error
    names it."""
    if not isinstance(data, list):
        raise ValidationFailed("the file must hold a list of webhook subscriptions", field="file")
    result = Imported()
    for index, raw in enumerate(data):
        entry = _entry(raw, index)
        try:
            existing = session.scalar(
                select(WebhookSubscription).where(WebhookSubscription.name == entry["name"])
            )
            if existing is None:
                made = actions.create_subscription(
                    session,
                    actor=None,
                    clock=clock,
                    settings=settings,
                    name=entry["name"],
                    url=entry["url"],
                    event_types=entry["event_types"],
                    active=entry.get("active", True),
                    allow_sensitive=entry.get("allow_sensitive", False),
                    secret=entry.get("secret"),
                )
                result.created.append(made.subscription.name)
                if "secret" not in entry:
                    result.new_secrets[made.subscription.name] = made.secret
            else:
                actions.update_subscription(
                    session,
                    subscription=existing,
                    actor=None,
                    clock=clock,
                    settings=settings,
                    url=entry["url"],
                    event_types=entry["event_types"],
                    active=entry.get("active", True),
                    allow_sensitive=entry.get("allow_sensitive", False),
                )
                result.updated.append(existing.name)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"entry {index + 1} ({entry['name']}): {exc.message}", field=exc.field
            ) from exc
    return result
