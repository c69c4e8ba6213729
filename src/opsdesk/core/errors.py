"""Domain errors. The web layer maps them to HTTP statuses, the CLI to messages; both keep the field."""

from __future__ import annotations


class OpsDeskError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(OpsDeskError):
    """The record does not exist, or the reader may not know that it does."""


class PermissionDenied(OpsDeskError):
    """The actor may see the record but not do this to it."""


class ValidationFailed(OpsDeskError):
    """Input that cannot be accepted as given."""


class SignatureRejected(OpsDeskError):
    """A webhook whose signature, timestamp or sender cannot be trusted."""


class Conflict(OpsDeskError):
    """The request clashes with the current state (a duplicate, a stale change)."""


class TooLarge(OpsDeskError):
    """Input over a configured size limit."""


class Throttled(OpsDeskError):
    """Too many attempts, or too much costly work at once: try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = max(1, retry_after)
