"""Every write on subscriptions and dead letters: one transaction (the caller's), with its event.
Managing webhooks is an admin's work (settings.manage): a subscription sends data out of the desk."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.desk.outbound_webhooks.dispatcher import latest_event_id
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from opsdesk.desk.outbound_webhooks.secret_store import seal
from opsdesk.desk.outbound_webhooks.targets import check_url

EVENT_TYPE = re.compile(r"^(\*|[a-z][a-z0-9_]{0,59})$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
MAX_EVENT_TYPES = 100


def _event_types(types: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in types))
    if not cleaned:
        raise ValidationFailed("name at least one event type, or * for all", field="event_types")
    if len(cleaned) > MAX_EVENT_TYPES:
        raise ValidationFailed(f"at most {MAX_EVENT_TYPES} event types", field="event_types")
    for t in cleaned:
        if not EVENT_TYPE.match(t):
            raise ValidationFailed(
                f"{t!r} is not an event type (lowercase words joined by _)", field="event_types"
            )
        if t.startswith("webhook_"):
            raise ValidationFailed("the webhooks' own events are not delivered", field="event_types")
    return cleaned


def _name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise ValidationFailed("a name is 1-100 letters, digits, spaces, _ . -", field="name")
    return name


def _record(
    session: Session, sub: WebhookSubscription, type: str, actor: User | None, clock: Clock, **data: object
) -> None:
    session.flush()
    append_event(
        session,
        subject_type="webhook_subscription",
        subject_id=sub.id,
        type=type,
        at=clock.now(),
        actor=actor,
        data=dict(data),
    )


@dataclass(frozen=True)
class Created:
    subscription: WebhookSubscription
    secret: str  # shown once


def create_subscription(
    session: Session,
    *,
    actor: User | None,
    clock: Clock,
    settings: Settings,
    name: str,
    url: str,
    event_types: Sequence[str],
    active: bool = True,
    allow_sensitive: bool = False,
    secret: str | None = None,
) -> Created:
    """``actor`` None: the CLI, run by whoever administers the install."""
    if actor is not None:
        permissions.require(actor, permissions.SETTINGS_MANAGE)
    name = _name(name)
    if session.scalar(select(WebhookSubscription.id).where(WebhookSubscription.name == name)) is not None:
        raise Conflict(f"a webhook named {name!r} exists", field="name")
    clear, encrypted, hint = seal(settings, secret)
    now = clock.now()
    sub = WebhookSubscription(
        name=name,
        url=check_url(url, allow_private=settings.webhook_allow_private_targets),
        event_types=_event_types(event_types),
        secret_encrypted=encrypted,
        secret_hint=hint,
        active=active,
        allow_sensitive=allow_sensitive,
        after_event_id=latest_event_id(session),
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    _record(
        session, sub, "webhook_subscription_created", actor, clock, name=name, allow_sensitive=allow_sensitive
    )
    return Created(sub, clear)


def update_subscription(
    session: Session,
    *,
    subscription: WebhookSubscription,
    actor: User | None,
    clock: Clock,
    settings: Settings,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    active: bool | None = None,
    allow_sensitive: bool | None = None,
    rotate_secret: bool = False,
) -> str | None:
    """Change the given fields; the new secret when ``rotate_secret`` (else None)."""
    if actor is not None:
        permissions.require(actor, permissions.SETTINGS_MANAGE)
    changed: dict[str, object] = {}
    if url is not None and url != subscription.url:
        subscription.url = changed["url"] = check_url(
            url, allow_private=settings.webhook_allow_private_targets
        )
    if event_types is not None:
        types = _event_types(event_types)
        if types != subscription.event_types:
            subscription.event_types = changed["event_types"] = types
    if active is not None and active != subscription.active:
        subscription.active = changed["active"] = active
    if allow_sensitive is not None and allow_sensitive != subscription.allow_sensitive:
        subscription.allow_sensitive = changed["allow_sensitive"] = allow_sensitive
    clear = None
    if rotate_secret:
        clear, subscription.secret_encrypted, subscription.secret_hint = seal(settings, None)
        changed["secret"] = "rotated"
    if changed:
        subscription.updated_at = clock.now()
        _record(session, subscription, "webhook_subscription_changed", actor, clock, changed=sorted(changed))
    return clear


def delete_subscription(
    session: Session, *, subscription: WebhookSubscription, actor: User | None, clock: Clock
) -> None:
    if actor is not None:
        permissions.require(actor, permissions.SETTINGS_MANAGE)
    _record(session, subscription, "webhook_subscription_deleted", actor, clock, name=subscription.name)
    session.delete(subscription)


def subscription_named(session: Session, name: str) -> WebhookSubscription:
    sub = session.scalar(select(WebhookSubscription).where(WebhookSubscription.name == name))
    if sub is None:
        raise NotFound(f"no webhook named {name!r}", field="name")
    return sub


def replay(
    session: Session, *, actor: User | None, clock: Clock, delivery_ids: Sequence[int] | None
) -> list[int]:
    """Put dead deliveries (the given ids, or every one when None) back in the outbox with a fresh
    count of attempts; the ids replayed. The body and webhook-id stay the same, so a receiver that
    already processed one can recognise it."""
    if actor is not None:
        permissions.require(actor, permissions.SETTINGS_MANAGE)
    query = select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.DEAD)
    if delivery_ids is not None:
        found = set(session.scalars(query.where(WebhookDelivery.id.in_(delivery_ids))))
        missing = [i for i in delivery_ids if i not in found]
        if missing:
            raise NotFound(f"no dead delivery {missing[0]}", field="id")
        ids = sorted(found)
    else:
        ids = list(session.scalars(query.order_by(WebhookDelivery.id)))
    if not ids:
        return []
    now = clock.now()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == DeliveryStatus.DEAD)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, dead_at=None)
        .execution_options(synchronize_session=False)
    )
    for delivery_id in ids:
        append_event(
            session,
            subject_type="webhook_delivery",
            subject_id=delivery_id,
            type="webhook_replayed",
            at=now,
            actor=actor,
        )
    return ids
