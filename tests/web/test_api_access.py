"""API tokens and deactivation over real HTTP: expiry, revocation and last use decide what a token can
still do, a deactivated person's sessions and tokens end at once, and each change is audited."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import ApiToken, AuditEntry, BrowserSession, Role, Tier
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def _last_used(db: Session, token_id: int) -> object:
    """The stored last use, read back; it is written just after the answer, in its own transaction."""
    deadline = time.monotonic() + 5
    while True:
        db.expire_all()
        value = db.get_one(ApiToken, token_id).last_used_at
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_a_token_records_its_last_use_at_most_once_a_minute_and_ends_when_it_expires(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    agent = make_user(db, clock, Role.AGENT, tier=Tier.L1)
    row, clear = actions.create_api_token(
        db, user=agent, name="crm", clock=clock, expires_in=timedelta(days=2)
    )
    db.commit()
    assert row.expires_at == clock.now() + timedelta(days=2)
    with live_server.client(clear) as client:
        assert client.get("/api/v1/users/me").status_code == 200
        first = clock.now()
        assert _last_used(db, row.id) == first
        clock.advance(timedelta(seconds=30))
        assert client.get("/api/v1/users/me").status_code == 200
        assert client.post("/api/v1/tokens/2147483648/revoke").status_code == 422
        assert _last_used(db, row.id) == first  # within the minute: no write
        clock.advance(timedelta(seconds=31))
        assert client.get("/api/v1/users/me").status_code == 200
        deadline = time.monotonic() + 5
        while _last_used(db, row.id) == first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _last_used(db, row.id) == clock.now()
        clock.advance(timedelta(days=2))
        expired = client.get("/api/v1/users/me")
        assert expired.status_code == 401 and expired.json()["error"]["code"] == "unauthenticated"


def test_people_manage_their_own_tokens_and_admins_everyones(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    admin = make_user(db, clock, Role.ADMIN)
    agent = make_user(db, clock, Role.AGENT, tier=Tier.L1)
    other = make_user(db, clock, Role.ANALYST)
    admin_token, agent_token, other_token = (make_token(db, clock, u) for u in (admin, agent, other))
    db.commit()
    with live_server.client(agent_token) as client:
        made = client.post("/api/v1/tokens", json={"name": "laptop", "expires_in_days": 7})
        assert made.status_code == 201
        created = made.json()
        assert created["token"].startswith("od_") and created["user_id"] == agent.id
        assert created["expires_at"].startswith((clock.now() + timedelta(days=7)).date().isoformat())
        mine = client.get("/api/v1/tokens").json()
        assert {t["user_id"] for t in mine} == {agent.id} and len(mine) == 2
        assert "token" not in mine[0]
        assert client.get("/api/v1/tokens", params={"user_id": other.id}).status_code == 403
        foreign = client.post("/api/v1/tokens", json={"name": "x", "user_id": other.id})
        assert foreign.status_code == 403
        other_id = db.scalar(select(ApiToken.id).where(ApiToken.user_id == other.id))
        assert client.post(f"/api/v1/tokens/{other_id}/revoke").status_code == 404
        assert client.post(f"/api/v1/users/{other.id}/deactivate").status_code == 403
        assert client.post("/api/v1/tokens", json={"name": "a\u0000b"}).status_code == 422
        assert client.post("/api/v1/tokens", json={"name": "n", "expires_in_days": 0}).status_code == 422
        revoked = client.post(f"/api/v1/tokens/{created['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    with live_server.client(created["token"]) as client:
        assert client.get("/api/v1/users/me").status_code == 401
    with live_server.client(admin_token) as client:
        everyone = client.get("/api/v1/tokens").json()
        assert {t["user_id"] for t in everyone} == {admin.id, agent.id, other.id}
        made = client.post(
            "/api/v1/tokens", json={"name": "sync", "user_id": other.id, "never_expires": True}
        )
        assert made.status_code == 201 and made.json()["expires_at"] is None
        assert client.post(f"/api/v1/tokens/{other_id}/revoke").json()["status"] == "revoked"
    with live_server.client(other_token) as client:
        assert client.get("/api/v1/users/me").status_code == 401
    db.expire_all()
    audited = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert audited.count("api_token_revoked") == 2 and audited.count("api_token_created") == 5


def test_deactivation_ends_sessions_and_tokens_at_once_and_reactivation_lets_the_person_back(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    admin = make_user(db, clock, Role.ADMIN)
    agent = make_user(db, clock, Role.AGENT, tier=Tier.L1)
    admin_token, agent_token = make_token(db, clock, admin), make_token(db, clock, agent)
    _row, cookie = actions.start_browser_session(db, user=agent, clock=clock)
    db.commit()
    with httpx.Client(base_url=live_server.url, cookies={"opsdesk_session": cookie}) as browser:
        assert browser.get("/api/v1/users/me").status_code == 200
        with live_server.client(admin_token) as client:
            assert client.post(f"/api/v1/users/{admin.id}/deactivate").status_code == 409
            assert client.post("/api/v1/users/2147483648/deactivate").status_code == 422
            answer = client.post(f"/api/v1/users/{agent.id}/deactivate")
            assert answer.status_code == 200 and answer.json()["active"] is False
            assert browser.get("/api/v1/users/me").status_code == 401
            with live_server.client(agent_token) as agent_client:
                assert agent_client.get("/api/v1/users/me").status_code == 401
                assert client.post(f"/api/v1/users/{agent.id}/reactivate").json()["active"] is True
                assert agent_client.get("/api/v1/users/me").status_code == 401  # tokens stay revoked
    db.expire_all()
    assert db.scalars(select(BrowserSession).where(BrowserSession.user_id == agent.id)).all() == []
    assert db.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == agent.id)).all() == [clock.now()]
    rows = db.scalars(
        select(AuditEntry).where(AuditEntry.subject_id == agent.id).order_by(AuditEntry.id)
    ).all()
    assert [r.action for r in rows][-2:] == ["user_deactivated", "user_reactivated"]
    assert rows[-2].actor_id == admin.id and rows[-2].detail["sessions_ended"] == 1
