"""The audit log: sensitive reads and administrative changes, for access reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.models import AuditEntry, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    row = AuditEntry(
        at=at,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail or {},
    )
    session.add(row)
    return row
