"""A small hand-made history of tickets, written as the desk writes its events, for hand-computed KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opsdesk.insights.kpis.frames import KpiFrames, frames_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float, start: datetime = T0) -> datetime:
    return start + timedelta(minutes=minutes)


class History:
    """Tickets and their events in log order; ``seq`` follows the order they are written here."""

    def __init__(self) -> None:
        self.tickets: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.tags: list[tuple[int, str]] = []

    def ticket(self, ticket_id: int, created: datetime, *, by_agent: bool = False, **fields: Any) -> None:
        row = {
            "ticket_id": ticket_id,
            "created_at": created,
            "status": "new",
            "channel": "email",
            "priority": "normal",
            "tier": "L1",
            **fields,
        }
        self.tickets.append(row)
        self.event(ticket_id, created, "ticket_created", status="new", created_by_agent=by_agent)

    def event(self, ticket_id: int, when: datetime, type: str, **data: Any) -> None:
        self.events.append(
            {"ticket_id": ticket_id, "seq": len(self.events), "at": when, "type": type, **data}
        )

    def message(self, ticket_id: int, when: datetime, author_kind: str, *, public: bool = True) -> None:
        self.event(ticket_id, when, "message_added", public=public, author_kind=author_kind)

    def status(self, ticket_id: int, when: datetime, to: str) -> None:
        row = next(t for t in self.tickets if t["ticket_id"] == ticket_id)
        self.event(ticket_id, when, "status_changed", from_status=row["status"], status=to)
        row["status"] = to

    def frames(self) -> KpiFrames:
        return frames_of(
            tickets=self.tickets,
            events=self.events,
            tags=self.tags,
            calls=self.calls,
            agents={7: "ana@example.com", 8: "ben@example.com"},
        )
