"""The neutral shape of an imported history: people, organisations, groups, and per ticket its opening
and every later change, named by the source system's ids. Both parsers produce it; the writer reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from opsdesk.core.roles import Role


@dataclass(frozen=True)
class Problem:
    """Something the import could not map, where it was read (file and 1-based line)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Company:
    line: int
    external_id: str
    name: str
    domain: str | None = None
    crm_id: str | None = None
    tags: tuple[str, ...] = ()
    shared_tickets: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class Team:
    line: int
    external_id: str
    name: str


@dataclass(frozen=True)
class Person:
    line: int
    external_id: str
    name: str
    email: str | None
    role: Role
    organisation: str | None = None
    default_group: str | None = None
    phone: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Comment:
    author: str | None  # None: the system wrote it
    public: bool
    html: str | None
    text: str | None
    channel: str | None = None  # OpsDesk channel the comment came through; None: the ticket's


@dataclass(frozen=True)
class Step:
    """One change at one instant. ``kind``: comment, status, assignee, group, priority, type, tags,
    rating. ``value`` is the new value (tags: (added, removed); rating: (good|bad, score|None, comment))."""

    at: datetime
    actor: str | None
    line: int
    kind: str
    value: object = None
    comment: Comment | None = None


@dataclass
class TicketHistory:
    """A ticket as it was opened, then its steps in order. Opening values are what the ticket had when
    created; the current state is what replaying the steps gives."""

    external_id: str
    file: str
    line: int
    subject: str
    channel: str
    created_at: datetime
    requester: str
    created_by: str | None
    organisation: str | None = None
    status: str = "new"
    priority: str = "normal"
    type: str | None = None
    group: str | None = None
    assignee: str | None = None
    tags: list[str] = field(default_factory=list)
    opening: list[Comment] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    expected_status: str | None = None  # what the source says the status is now, to check the replay
