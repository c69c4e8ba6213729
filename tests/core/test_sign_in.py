"""Sign-in throttling counts in shared rows (committed and read back), and the password check costs one
Argon2id verification whether or not the account exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import secrets, sign_in
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Throttled
from opsdesk.core.models import Role, SignInThrottle
from tests.factories import PASSWORD, make_user


def _attempt(factory: sessionmaker[Session], clock: FixedClock, email: str, address: str) -> int | None:
    """One attempt in its own committed transaction, as each web worker's request does."""
    with factory() as session:
        wait = sign_in.count_attempt(session, email=email, address=address, clock=clock)
        session.commit()
        return wait


def test_an_account_is_refused_past_five_attempts_until_its_window_ends(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    waits = [_attempt(session_factory, clock, "Ana@Desk.test", f"10.0.0.{n}") for n in range(100)]
    assert waits[:5] == [None] * 5
    assert waits[5:] == [15 * 60] * 95  # refused whatever the address, for the rest of the window
    with session_factory() as check:
        row = check.get_one(SignInThrottle, "account:ana@desk.test")
        assert row.attempts == 100 and row.window_start == clock.now()
    clock.advance(timedelta(minutes=10))
    assert _attempt(session_factory, clock, "ana@desk.test", "10.0.0.1") == 5 * 60
    clock.advance(timedelta(minutes=5))
    assert _attempt(session_factory, clock, "ana@desk.test", "10.0.0.1") is None


def test_an_address_is_refused_past_thirty_attempts_on_any_accounts(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    waits = [_attempt(session_factory, clock, f"user{n}@desk.test", "192.0.2.7") for n in range(31)]
    assert waits[:30] == [None] * 30 and waits[30] == 15 * 60
    assert _attempt(session_factory, clock, "someone@desk.test", "192.0.2.8") is None


def test_a_success_clears_the_account_and_leaves_the_address_its_failures(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    for _ in range(3):
        _attempt(session_factory, clock, "ana@desk.test", "192.0.2.7")
    sign_in.clear_attempts(db, email="ana@desk.test", address="192.0.2.7")
    db.commit()
    with session_factory() as check:
        rows = {row.key: row.attempts for row in check.scalars(select(SignInThrottle))}
    assert rows == {"address:192.0.2.7": 2}


def test_unknown_and_known_accounts_cost_one_verification_each(
    db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            checked.append(str(hash)[:9])
            return super().verify(hash, password)

    make_user(db, clock, Role.AGENT, email="ana@desk.test")
    requester = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    db.commit()
    assert requester.password_hash is None
    monkeypatch.setattr(secrets, "_hasher", CountingHasher())
    assert sign_in.check_password(db, email="ana@desk.test", password=PASSWORD) is not None
    assert sign_in.check_password(db, email="ana@desk.test", password="wrong password") is None
    assert sign_in.check_password(db, email="nobody@desk.test", password=PASSWORD) is None
    assert sign_in.check_password(db, email="rita@acme.test", password="") is None
    assert checked == ["$argon2id"] * 4


def test_hashing_waits_for_a_free_slot_and_refuses_when_none_frees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "HASHING_WAIT_SECONDS", 0.01)
    taken = [secrets._hashing_slots.acquire(blocking=False) for _ in range(secrets.HASHING_SLOTS)]
    try:
        assert all(taken)
        with pytest.raises(Throttled) as refused:
            secrets.verify_password(None, "anything")
        assert refused.value.retry_after >= 1
    finally:
        for _ in taken:
            secrets._hashing_slots.release()
    assert secrets.verify_password(secrets.hash_password(PASSWORD), PASSWORD)
