"""Webhooks over the API, against the real app and a real receiver on loopback: an admin subscribes
(the secret is shown once), deliveries verify with the published scheme, dead letters are listed and
replayed; nobody but an admin manages them, and bad input is a 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.core.settings import Settings
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery
from opsdesk.desk.outbound_webhooks.sender import send_due
from opsdesk.web.app import create_app
from tests.conftest import LiveServer, serving
from tests.desk.outbound_webhooks.receiver import Receiver, receiver
from tests.factories import make_token, make_user


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_targets": True, "webhook_max_attempts": 2})


@pytest.fixture
def server(engine: Engine, clock: FixedClock, hook_settings: Settings) -> Iterator[LiveServer]:
    with serving(create_app(hook_settings, engine=engine, clock=clock)) as live:
        yield live


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def _run(factory: sessionmaker[Session], clock: FixedClock, settings: Settings) -> None:
    with factory() as session, session.begin():
        dispatch(session, clock=clock)
    send_due(factory, clock=clock, settings=settings)


def test_an_admin_subscribes_and_replays_dead_letters_over_the_api(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    hook_settings: Settings,
    server: LiveServer,
    hooks: Receiver,
) -> None:
    admin = make_token(db, clock, make_user(db, clock, Role.ADMIN, email="ada@desk.test"))
    agent = make_token(db, clock, make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1))
    requester = make_token(db, clock, make_user(db, clock, Role.REQUESTER, email="rita@acme.test"))
    db.commit()
    as_admin, as_agent = server.client(admin), server.client(agent)

    body = {"name": "crm", "url": hooks.url, "event_types": ["ticket_created"]}
    assert as_agent.post("/api/v1/webhooks", json=body).status_code == 403
    assert as_agent.get("/api/v1/webhooks").status_code == 403
    bad = as_admin.post("/api/v1/webhooks", json={**body, "url": "gopher://x"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "url"
    bad = as_admin.post("/api/v1/webhooks", json={**body, "event_types": ["Not A Type"]})
    assert bad.status_code == 422
    made = as_admin.post("/api/v1/webhooks", json=body)
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    listed = as_admin.get("/api/v1/webhooks").json()
    assert [s["name"] for s in listed] == ["crm"] and listed[0]["secret"] is None
    assert as_admin.post("/api/v1/webhooks", json=body).status_code == 409

    created = server.client(requester).post(
        "/api/v1/tickets", json={"subject": "Invoice wrong", "body_text": "Twice charged"}
    )
    assert created.status_code == 201
    hooks.answer(500)
    _run(session_factory, clock, hook_settings)
    clock.advance(timedelta(hours=7))
    _run(session_factory, clock, hook_settings)
    dead = as_admin.get("/api/v1/webhooks/dead-letters").json()
    assert len(dead) == 1 and dead[0]["attempts"] == 2 and dead[0]["last_status_code"] == 500
    assert as_agent.get("/api/v1/webhooks/dead-letters").status_code == 403

    hooks.answer(200)
    assert as_admin.post("/api/v1/webhooks/dead-letters/2147483647/replay").status_code == 404
    assert as_admin.post("/api/v1/webhooks/dead-letters/2147483648/replay").status_code == 422
    replayed = as_admin.post(f"/api/v1/webhooks/dead-letters/{dead[0]['id']}/replay")
    assert replayed.json() == {"replayed": [dead[0]["id"]]}
    _run(session_factory, clock, hook_settings)
    db.expire_all()
    assert db.get_one(WebhookDelivery, dead[0]["id"]).status is DeliveryStatus.DELIVERED
    assert as_admin.get("/api/v1/webhooks/dead-letters").json() == []
    last = hooks.requests[-1]
    assert Webhook(secret).verify(last.body, last.headers)["data"]["ticket"]["subject"] == "Invoice wrong"
    assert len({r.headers["webhook-id"] for r in hooks.requests}) == 1

    rotated = as_admin.patch(
        f"/api/v1/webhooks/{made.json()['id']}", json={"rotate_secret": True, "active": False}
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (None, secret)
    assert rotated.json()["active"] is False
    assert as_admin.delete(f"/api/v1/webhooks/{made.json()['id']}").status_code == 204
    assert as_admin.get("/api/v1/webhooks").json() == []
