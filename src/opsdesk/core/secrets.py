"""Password hashing (Argon2) and random tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opsdesk.core.errors import Throttled

_hasher = PasswordHasher()
TOKEN_PREFIX = "od_"

# Each Argon2id hash takes 64 MiB and tens of milliseconds of a core. A process hashes at most this
# many at once, so a burst of sign-ins queues instead of exhausting memory; one that waits longer than
# HASHING_WAIT_SECONDS for a slot is refused as throttled.
HASHING_SLOTS = 2
HASHING_WAIT_SECONDS = 10.0
_hashing_slots = threading.BoundedSemaphore(HASHING_SLOTS)


@contextmanager
def _hashing_slot() -> Iterator[None]:
    if not _hashing_slots.acquire(timeout=HASHING_WAIT_SECONDS):
        raise Throttled("the server is busy checking passwords; try again shortly", retry_after=2)
    try:
        yield
    finally:
        _hashing_slots.release()


def hash_password(password: str) -> str:
    with _hashing_slot():
        return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of a random password with the same parameters, checked when there is no real one."""
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Costs one Argon2id verification whether or not there is a hash to check against, so an unknown
    account (or one without a password) answers as slowly as a known one."""
    checked = password_hash or _dummy_hash()
    with _hashing_slot():
        try:
            return _hasher.verify(checked, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    """A 256-bit random token; high entropy makes a fast hash (SHA-256) safe for storing it."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
