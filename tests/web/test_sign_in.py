"""Sign-in over real HTTP: throttled per account before any hash, 429 with Retry-After and a clear
message, the right password refused while locked, and accepted once the window has passed."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import BrowserSession, Role, SignInThrottle
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user


def _sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    form = client.get("/signin")
    token = re.search(r'name="signin_csrf" value="([^"]+)"', form.text)
    assert token is not None
    return client.post("/signin", data={"email": email, "password": password, "signin_csrf": token.group(1)})


def _sessions(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(BrowserSession)) or 0


def test_hundred_wrong_passwords_lock_the_account_until_the_window_passes(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    make_user(db, clock, Role.AGENT, email="ana@desk.test")
    db.commit()
    with httpx.Client(base_url=live_server.url) as client:
        answers = [_sign_in(client, "ana@desk.test", f"guess {n}").status_code for n in range(100)]
        assert answers == [401] * 5 + [429] * 95
        locked = _sign_in(client, "ana@desk.test", PASSWORD)
        assert locked.status_code == 429 and locked.headers["retry-after"] == str(15 * 60)
        assert "Too many sign-in attempts. Try again in 15 minutes." in locked.text
        assert "opsdesk_session" not in client.cookies
        assert _sessions(db) == 0
        clock.advance(timedelta(minutes=15))
        signed_in = _sign_in(client, "ana@desk.test", PASSWORD)
        assert signed_in.status_code == 303 and "opsdesk_session" in client.cookies
    assert _sessions(db) == 1
    assert db.get(SignInThrottle, "account:ana@desk.test") is None


def test_an_unknown_account_answers_as_a_known_one(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    make_user(db, clock, Role.AGENT, email="ana@desk.test")
    db.commit()
    with httpx.Client(base_url=live_server.url) as client:
        known = [_sign_in(client, "ana@desk.test", "guess").status_code for _ in range(6)]
        unknown = [_sign_in(client, "nobody@desk.test", "guess").status_code for _ in range(6)]
        assert known == unknown == [401] * 5 + [429]
        nul = client.post("/signin", data={"email": "a\x00b@desk.test", "password": "x", "signin_csrf": "x"})
        assert nul.status_code == 400  # the sign-in page says what is wrong, as every page does
