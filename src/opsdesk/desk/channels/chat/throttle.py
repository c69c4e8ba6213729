"""New chats and offline messages come from anyone on the internet: each client address may start a
limited number per window, counted where sign-in attempts are (the database, or Redis when set)."""

from __future__ import annotations

import math
from datetime import timedelta

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Throttled
from opsdesk.core.sign_in import AttemptCounter, Limit

# An office behind one address may have several people chatting; a script creating tickets may not.
NEW_CHATS = Limit("chat-start", 20, timedelta(minutes=15))


def count_new_chat(counter: AttemptCounter, *, address: str, clock: Clock) -> None:
    """Counts one; Throttled (429 with Retry-After) past the limit."""
    now = clock.now()
    attempts, window_start = counter.count(f"{NEW_CHATS.prefix}:{address}", now, NEW_CHATS.window)
    if attempts > NEW_CHATS.attempts:
        wait = max(1, math.ceil((window_start + NEW_CHATS.window - now).total_seconds()))
        raise Throttled(
            f"too many new chats from your address; try again in {wait} seconds",
            retry_after=wait,
            field="chat",
        )
