"""Reads on subscriptions and deliveries for the admin page, the API and the CLI."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

MAX_LIST = 1000


def subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.name)))


def deliveries(
    session: Session, *, status: DeliveryStatus | None = None, limit: int = 100, before_id: int | None = None
) -> list[WebhookDelivery]:
    """Newest first; ``status`` DEAD lists the dead letters."""
    query = select(WebhookDelivery).options(selectinload(WebhookDelivery.subscription))
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(
        session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(max(1, min(limit, MAX_LIST))))
    )
