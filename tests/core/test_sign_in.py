"""Sign-in throttling counts in shared rows (committed and read back), and the password check costs one
Argon2id verification whether or not the account exists."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import secrets, sign_in
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Throttled
from opsdesk.core.models import Role, SignInThrottle
from tests.core.test_jobs import REDIS_URL, redis_unreachable
from tests.factories import PASSWORD, make_user

Counting = Callable[[], AbstractContextManager[sign_in.AttemptCounter]]


@pytest.fixture(params=["database", "redis"])
def counting(request: pytest.FixtureRequest, session_factory: sessionmaker[Session]) -> Iterator[Counting]:
    """Opens a counter as one web request does: its own database transaction, committed, or Redis
    (keys under a prefix of this test's own)."""
    if request.param == "database":

        @contextmanager
        def in_database() -> Iterator[sign_in.AttemptCounter]:
            with session_factory() as session:
                yield sign_in.DatabaseCounter(session)
                session.commit()

        yield in_database
        return
    skip = redis_unreachable()
    if skip:
        pytest.skip(skip)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"opsdesk-test:sign-in:{uuid.uuid4().hex}:"

    @contextmanager
    def in_redis() -> Iterator[sign_in.AttemptCounter]:
        yield sign_in.RedisCounter(client, prefix=prefix)

    yield in_redis
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def _attempt(counting: Counting, clock: FixedClock, email: str, address: str) -> int | None:
    with counting() as counter:
        return sign_in.count_attempt(counter, email=email, address=address, clock=clock)


def test_an_account_is_refused_past_five_attempts_until_its_window_ends(
    counting: Counting, clock: FixedClock
) -> None:
    waits = [_attempt(counting, clock, "Ana@Desk.test", f"10.0.0.{n}") for n in range(100)]
    assert waits[:5] == [None] * 5
    assert waits[5:] == [15 * 60] * 95  # refused whatever the address, for the rest of the window
    clock.advance(timedelta(minutes=10))
    assert _attempt(counting, clock, "ana@desk.test", "10.0.0.1") == 5 * 60
    clock.advance(timedelta(minutes=5))
    assert _attempt(counting, clock, "ana@desk.test", "10.0.0.1") is None


def test_the_database_count_is_committed_for_every_worker_to_read(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    for _ in range(7):
        with session_factory() as session:
            sign_in.count_attempt(
                sign_in.DatabaseCounter(session), email="Ana@Desk.test", address="10.0.0.1", clock=clock
            )
            session.commit()
    with session_factory() as check:
        row = check.get_one(SignInThrottle, "account:ana@desk.test")
        assert row.attempts == 7 and row.window_start == clock.now()
        assert isinstance(sign_in.counter_for(check, ""), sign_in.DatabaseCounter)
        assert isinstance(sign_in.counter_for(check, REDIS_URL), sign_in.RedisCounter)


def test_an_address_is_refused_past_thirty_attempts_on_any_accounts(
    counting: Counting, clock: FixedClock
) -> None:
    waits = [_attempt(counting, clock, f"user{n}@desk.test", "192.0.2.7") for n in range(31)]
    assert waits[:30] == [None] * 30 and waits[30] == 15 * 60
    assert _attempt(counting, clock, "someone@desk.test", "192.0.2.8") is None


def test_a_success_clears_the_account_and_leaves_the_address_its_failures(
    counting: Counting, clock: FixedClock
) -> None:
    for _ in range(5):
        _attempt(counting, clock, "ana@desk.test", "192.0.2.7")
    with counting() as counter:
        sign_in.clear_attempts(counter, email="ana@desk.test", address="192.0.2.7")
    assert _attempt(counting, clock, "ana@desk.test", "192.0.2.9") is None  # account: 1 of 5
    for n in range(25):
        assert _attempt(counting, clock, f"u{n}@desk.test", "192.0.2.7") is None  # address: 4 + 25 = 29
    assert _attempt(counting, clock, "last@desk.test", "192.0.2.7") is None  # 30
    assert _attempt(counting, clock, "over@desk.test", "192.0.2.7") == 15 * 60


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
