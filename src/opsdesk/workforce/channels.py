"""The contact channels staffing is planned for, apart from the Erlang maths so that the command line can
offer them as choices without loading numpy, pandas and scipy."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"
    SOCIAL = "social"

    @property
    def deferred(self) -> bool:
        """Worked from a backlog against a response time, not answered live from a queue."""
        return self in (Channel.EMAIL, Channel.SOCIAL)
