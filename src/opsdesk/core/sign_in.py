"""Password sign-in, throttled per account and per client address.

Every attempt is counted before its password is hashed, in rows every web worker shares (the
database, so it works wherever OpsDesk runs), with one atomic upsert per key: the attempt past a
limit is refused without the Argon2id cost, however many arrive at once, so neither guessing a
password nor loading the server with hashes gets far. A success clears its account's count. Unknown
accounts are counted and hashed like known ones, so neither the answer nor its time tells who has an
account."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

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


def _count(session: Session, key: str, limit: Limit, now: datetime) -> int | None:
    """Counts one attempt on ``key``; the seconds until its window ends when it is over the limit."""
    table = SignInThrottle.__table__
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
    stale = table.c.window_start <= now - limit.window
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
    attempts, window_start = session.execute(statement).one()
    if attempts <= limit.attempts:
        return None
    return math.ceil((window_start + limit.window - now).total_seconds())


def _keys(email: str, address: str) -> tuple[str, str]:
    account = email.strip().lower()
    return f"{PER_ACCOUNT.prefix}:{account}", f"{PER_ADDRESS.prefix}:{address}"


def count_attempt(session: Session, *, email: str, address: str, clock: Clock) -> int | None:
    """Counts a sign-in attempt against its account and its client address. Returns the seconds to
    wait when either is over its limit (the attempt must then be refused unchecked), else None. The
    caller commits before checking the password, so every worker sees the count at once."""
    now = clock.now()
    account_key, address_key = _keys(email, address)
    waits = [
        wait
        for key, limit in ((account_key, PER_ACCOUNT), (address_key, PER_ADDRESS))
        if (wait := _count(session, key, limit, now)) is not None
    ]
    return max(waits) if waits else None


def check_password(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None; one Argon2id verification either way."""
    user = user_by_email_or_none(session, email)
    matches = verify_password(user.password_hash if user is not None else None, password)
    return user if matches and user is not None and user.active else None


def clear_attempts(session: Session, *, email: str, address: str) -> None:
    """After a success: the account starts afresh, and the address keeps only its failures."""
    account_key, address_key = _keys(email, address)
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == account_key))
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == address_key, SignInThrottle.attempts > 0)
        .values(attempts=SignInThrottle.attempts - 1)
    )


def refuse(wait: int) -> Throttled:
    minutes = math.ceil(wait / 60)
    return Throttled(
        f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after=wait,
    )
