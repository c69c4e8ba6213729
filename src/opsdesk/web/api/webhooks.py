"""/api/v1/webhooks: outbound webhook subscriptions, their dead letters and replays (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.desk.outbound_webhooks import actions, queries
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookSubscription
from opsdesk.desk.outbound_webhooks.schemas import (
    DeliveryOut,
    ReplayOut,
    SubscriptionChange,
    SubscriptionIn,
    SubscriptionOut,
)
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["webhooks"])
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIST)]


def _admin(user: User) -> User:
    permissions.require(user, permissions.SETTINGS_MANAGE)
    return user


def _subscription(session: SessionDep, subscription_id: int) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None:
        raise NotFound(f"no webhook {subscription_id}", field="subscription_id")
    return sub


@router.get("/webhooks", response_model=list[SubscriptionOut])
def list_subscriptions(user: CurrentUser, session: SessionDep) -> list[SubscriptionOut]:
    _admin(user)
    return [SubscriptionOut.of(s) for s in queries.subscriptions(session)]


@router.post("/webhooks", status_code=201, response_model=SubscriptionOut)
def create_subscription(
    body: SubscriptionIn, user: CurrentUser, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> SubscriptionOut:
    """The answer holds the signing secret, this once."""
    made = actions.create_subscription(
        session,
        actor=_admin(user),
        clock=clock,
        settings=settings,
        name=body.name,
        url=body.url,
        event_types=body.event_types,
        active=body.active,
        allow_sensitive=body.allow_sensitive,
    )
    session.commit()
    return SubscriptionOut.of(made.subscription, made.secret)


@router.patch("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def change_subscription(
    subscription_id: PathId,
    body: SubscriptionChange,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> SubscriptionOut:
    """With ``rotate_secret``, the answer holds the new secret, this once."""
    sub = _subscription(session, subscription_id)
    secret = actions.update_subscription(
        session,
        subscription=sub,
        actor=_admin(user),
        clock=clock,
        settings=settings,
        url=body.url,
        event_types=body.event_types,
        active=body.active,
        allow_sensitive=body.allow_sensitive,
        rotate_secret=body.rotate_secret,
    )
    session.commit()
    return SubscriptionOut.of(sub, secret)


@router.delete("/webhooks/{subscription_id}", status_code=204)
def delete_subscription(
    subscription_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Response:
    _admin(user)
    actions.delete_subscription(
        session, subscription=_subscription(session, subscription_id), actor=user, clock=clock
    )
    session.commit()
    return Response(status_code=204)


@router.get("/webhooks/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    user: CurrentUser, session: SessionDep, status: DeliveryStatus | None = None, limit: Limit = 100
) -> list[DeliveryOut]:
    """Newest first; ``status=dead`` lists the dead letters."""
    _admin(user)
    return [DeliveryOut.of(d) for d in queries.deliveries(session, status=status, limit=limit)]


@router.get("/webhooks/dead-letters", response_model=list[DeliveryOut])
def dead_letters(user: CurrentUser, session: SessionDep, limit: Limit = 100) -> list[DeliveryOut]:
    _admin(user)
    return [DeliveryOut.of(d) for d in queries.deliveries(session, status=DeliveryStatus.DEAD, limit=limit)]


@router.post("/webhooks/dead-letters/{delivery_id}/replay", response_model=ReplayOut)
def replay_one(delivery_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> ReplayOut:
    ids = actions.replay(session, actor=_admin(user), clock=clock, delivery_ids=[delivery_id])
    session.commit()
    return ReplayOut(replayed=ids)


@router.post("/webhooks/dead-letters/replay", response_model=ReplayOut)
def replay_all(user: CurrentUser, session: SessionDep, clock: ClockDep) -> ReplayOut:
    ids = actions.replay(session, actor=_admin(user), clock=clock, delivery_ids=None)
    session.commit()
    return ReplayOut(replayed=ids)
