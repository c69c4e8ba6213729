"""Password sign-in, throttled per account and per client address.

Every attempt is counted before its password is hashed, where every web worker sees it (the
database, which works wherever OpsDesk runs, or Redis when OPSDESK_REDIS_URL is set), with one atomic
step per key: the attempt past a
limit is refused without the Argon2id cost, however many arrive at once, so neither guessing a
password nor loading the server with hashes gets far. A success clears its account's count. Unknown
accounts are counted and hashed like known ones, so neither the answer nor its time tells who has an
account."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.database import UTCDateTime
from opsdesk.core.errors import Throttled
from opsdesk.core.models import SignInThrottle, User
from opsdesk.core.queries import user_by_email_or_none
from opsdesk.core.secrets import verify_password


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` attempts per ``window`` for one key (a fixed window from its first)."""

    prefix: str
    attempts: int
    window: timedelta


# Five guesses per quarter hour on one account (480 a day at most); an address (an office behind one
# NAT signs in many people) gets more, but only failures stay counted against it.
PER_ACCOUNT = Limit("account", 5, timedelta(minutes=15))
PER_ADDRESS = Limit("address", 30, timedelta(minutes=15))


class AttemptCounter(Protocol):
    """Where attempts are counted: one atomic step per key, so concurrent workers never lose one."""

    def count(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Adds one attempt to the key's window (a new one if it has ended): (attempts, window start)."""

    def forget(self, key: str) -> None: ...

    def take_one_back(self, key: str) -> None: ...


class DatabaseCounter:
    """Rows of sign_in_throttle, written in the caller's transaction (commit before hashing)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def count(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        table = SignInThrottle.__table__
        insert = (postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite).insert
        stale = table.c.window_start <= now - window
        statement = (
            insert(table)
            .values(key=key, window_start=now, attempts=1)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "attempts": case((stale, 1), else_=table.c.attempts + 1),
                    "window_start": case((stale, literal(now, UTCDateTime())), else_=table.c.window_start),
                },
            )
            .returning(table.c.attempts, table.c.window_start)
        )
        attempts, window_start = self.session.execute(statement).one()
        return attempts, window_start

    def forget(self, key: str) -> None:
        self.session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))

    def take_one_back(self, key: str) -> None:
        self.session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == key, SignInThrottle.attempts > 0)
            .values(attempts=SignInThrottle.attempts - 1)
        )


# The window's start is the caller's clock (injectable, as everywhere), not Redis's; the key expires
# after its window, in Redis's time, only to tidy up.
_COUNT_SCRIPT = """
local start = tonumber(redis.call('HGET', KEYS[1], 's'))
local now = tonumber(ARGV[1])
if (not start) or start <= now - tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 's', now, 'n', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, now}
end
return {redis.call('HINCRBY', KEYS[1], 'n', 1), start}
"""
_TAKE_BACK_SCRIPT = """
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then redis.call('HINCRBY', KEYS[1], 'n', -1) end
"""


class RedisCounter:
    """A hash per key in Redis (start, attempts), changed by one Lua script per attempt."""

    def __init__(self, client: Any, prefix: str = "opsdesk:sign-in:") -> None:
        self.client = client
        self.prefix = prefix

    def count(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        millis = int(now.timestamp() * 1000)
        span = int(window.total_seconds() * 1000)
        attempts, start = self.client.eval(_COUNT_SCRIPT, 1, self.prefix + key, millis, span)
        return int(attempts), datetime.fromtimestamp(int(start) / 1000, UTC)

    def forget(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def take_one_back(self, key: str) -> None:
        self.client.eval(_TAKE_BACK_SCRIPT, 1, self.prefix + key)


_redis_counters: dict[str, RedisCounter] = {}


def counter_for(session: Session, redis_url: str) -> AttemptCounter:
    """Redis when it is configured (one client per process), else the database."""
    if not redis_url:
        return DatabaseCounter(session)
    if redis_url not in _redis_counters:
        import redis

        _redis_counters[redis_url] = RedisCounter(redis.Redis.from_url(redis_url, socket_timeout=5))
    return _redis_counters[redis_url]


def _over(counter: AttemptCounter, key: str, limit: Limit, now: datetime) -> int | None:
    """Counts one attempt on ``key``; the seconds until its window ends when it is over the limit."""
    attempts, window_start = counter.count(key, now, limit.window)
    if attempts <= limit.attempts:
        return None
    return math.ceil((window_start + limit.window - now).total_seconds())


def _keys(email: str, address: str) -> tuple[str, str]:
    account = email.strip().lower()
    return f"{PER_ACCOUNT.prefix}:{account}", f"{PER_ADDRESS.prefix}:{address}"


def count_attempt(counter: AttemptCounter, *, email: str, address: str, clock: Clock) -> int | None:
    """Counts a sign-in attempt against its account and its client address. Returns the seconds to
    wait when either is over its limit (the attempt must then be refused unchecked), else None. With
    the database counter, the caller commits before checking the password, so every worker sees the
    count at once."""
    now = clock.now()
    account_key, address_key = _keys(email, address)
    waits = [
        wait
        for key, limit in ((account_key, PER_ACCOUNT), (address_key, PER_ADDRESS))
        if (wait := _over(counter, key, limit, now)) is not None
    ]
    return max(waits) if waits else None


def check_password(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None; one Argon2id verification either way."""
    user = user_by_email_or_none(session, email)
    matches = verify_password(user.password_hash if user is not None else None, password)
    return user if matches and user is not None and user.active else None


def clear_attempts(counter: AttemptCounter, *, email: str, address: str) -> None:
    """After a success: the account starts afresh, and the address keeps only its failures."""
    account_key, address_key = _keys(email, address)
    counter.forget(account_key)
    counter.take_one_back(address_key)


def refuse(wait: int) -> Throttled:
    minutes = math.ceil(wait / 60)
    return Throttled(
        f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after=wait,
    )
