"""The admin's webhooks page: subscriptions (add, pause, rotate the secret, allow sensitive data,
delete) and the dead letters (replay one, or all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import User
from opsdesk.desk.outbound_webhooks import actions, queries
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookSubscription
from opsdesk.desk.outbound_webhooks.targets import MAX_URL
from opsdesk.web.api.params import FormLine
from opsdesk.web.deps import ClockDep, SessionDep, SettingsDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.render import PageId, page

router = APIRouter(include_in_schema=False)
BACK = "/admin/webhooks"


def _admin(user: User) -> None:
    permissions.require(user, permissions.SETTINGS_MANAGE)


def _render(
    request: Request,
    user: User,
    session: SessionDep,
    *,
    status_code: int = 200,
    secret: tuple[str, str] | None = None,
    error: str | None = None,
) -> Response:
    return page(
        request,
        "admin/webhooks.html",
        user,
        status_code=status_code,
        subscriptions=queries.subscriptions(session),
        dead=queries.deliveries(session, status=DeliveryStatus.DEAD, limit=200),
        recent=queries.deliveries(session, limit=20),
        secret=secret,
        error=error,
    )


@router.get("/admin/webhooks")
def webhooks_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    _admin(user)
    return _render(request, user, session)


@router.post("/admin/webhooks")
def add_webhook(
    request: Request,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=100)],
    url: Annotated[str, Form(max_length=MAX_URL)],
    event_types: FormLine,
    allow_sensitive: FormLine = "",
) -> Response:
    """The new secret is shown on the page that answers, once (no redirect carries it)."""
    _admin(user)
    try:
        made = actions.create_subscription(
            session,
            actor=user,
            clock=clock,
            settings=settings,
            name=name,
            url=url,
            event_types=event_types.replace(",", " ").split(),
            allow_sensitive=allow_sensitive == "on",
        )
    except ValidationFailed as exc:
        session.rollback()
        return _render(request, user, session, status_code=422, error=f"{exc.message} ({exc.field})")
    session.commit()
    return _render(request, user, session, status_code=201, secret=(made.subscription.name, made.secret))


def _subscription(session: SessionDep, subscription_id: int) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None:
        raise NotFound(f"no webhook {subscription_id}", field="subscription_id")
    return sub


@router.post("/admin/webhooks/{subscription_id}/change")
def change_webhook(
    request: Request,
    subscription_id: PageId,
    user: FormUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    change: FormLine,
) -> Response:
    """``change``: pause, resume, allow_sensitive, withhold_sensitive, rotate or delete."""
    _admin(user)
    sub = _subscription(session, subscription_id)
    if change == "delete":
        actions.delete_subscription(session, subscription=sub, actor=user, clock=clock)
    elif change in ("pause", "resume", "allow_sensitive", "withhold_sensitive", "rotate"):
        secret = actions.update_subscription(
            session,
            subscription=sub,
            actor=user,
            clock=clock,
            settings=settings,
            active={"pause": False, "resume": True}.get(change),
            allow_sensitive={"allow_sensitive": True, "withhold_sensitive": False}.get(change),
            rotate_secret=change == "rotate",
        )
        if secret is not None:
            session.commit()
            return _render(request, user, session, secret=(sub.name, secret))
    else:
        raise ValidationFailed("unknown change", field="change")
    session.commit()
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/webhooks/dead-letters/{delivery_id}/replay")
def replay_one(delivery_id: PageId, user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    _admin(user)
    actions.replay(session, actor=user, clock=clock, delivery_ids=[delivery_id])
    session.commit()
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/webhooks/dead-letters/replay")
def replay_all(user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    _admin(user)
    actions.replay(session, actor=user, clock=clock, delivery_ids=None)
    session.commit()
    return RedirectResponse(BACK, status_code=303)
