"""Request and response shapes of webhook subscriptions and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from opsdesk.core.bounds import NoNulModel, ShortText
from opsdesk.desk.outbound_webhooks.actions import MAX_EVENT_TYPES
from opsdesk.desk.outbound_webhooks.models import WebhookDelivery, WebhookSubscription
from opsdesk.desk.outbound_webhooks.targets import MAX_URL

EventType = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^(\*|[a-z][a-z0-9_]*)$")]
Url = Annotated[str, Field(min_length=1, max_length=MAX_URL)]


class SubscriptionIn(NoNulModel):
    name: Annotated[ShortText, Field(min_length=1, max_length=100)]
    url: Url
    event_types: list[EventType] = Field(min_length=1, max_length=MAX_EVENT_TYPES)
    active: bool = True
    allow_sensitive: bool = Field(default=False, description="Send sensitive tickets' subject and content")


class SubscriptionChange(NoNulModel):
    url: Url | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=MAX_EVENT_TYPES)
    active: bool | None = None
    allow_sensitive: bool | None = None
    rotate_secret: bool = False


class SubscriptionOut(BaseModel):
    id: int
    name: str
    url: str
    event_types: list[str]
    active: bool
    allow_sensitive: bool
    secret_hint: str
    secret: str | None = Field(default=None, description="Only when it was just made: keep it now")

    @classmethod
    def of(cls, sub: WebhookSubscription, secret: str | None = None) -> SubscriptionOut:
        return cls(
            id=sub.id,
            name=sub.name,
            url=sub.url,
            event_types=list(sub.event_types),
            active=sub.active,
            allow_sensitive=sub.allow_sensitive,
            secret_hint=sub.secret_hint,
            secret=secret,
        )


class DeliveryOut(BaseModel):
    id: int
    subscription: str
    event_id: int
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    dead_at: datetime | None

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=row.id,
            subscription=row.subscription.name,
            event_id=row.event_id,
            event_type=row.event_type,
            webhook_id=row.message_id,
            status=row.status.value,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            created_at=row.created_at,
            dead_at=row.dead_at,
        )


class ReplayOut(BaseModel):
    replayed: list[int]
