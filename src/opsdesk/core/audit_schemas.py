"""Response shapes of the audit log API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from opsdesk.core.audit_queries import AuditRow


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_email: str | None
    actor_name: str | None
    action: str
    subject_type: str
    subject_id: int | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntryOut:
        entry = row.entry
        return cls(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_email=row.actor_email,
            actor_name=row.actor_name,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            detail=entry.detail,
        )


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
