"""Request and response shapes of time off."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from opsdesk.core.bounds import Moment, NoNulModel
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffRequest, TimeOffStatus


class TimeOffIn(NoNulModel):
    kind: TimeOffKind
    starts_at: Moment
    ends_at: Moment
    note: str = Field(default="", max_length=500)


class DecisionIn(NoNulModel):
    note: str = Field(default="", max_length=500)


class TimeOffOut(BaseModel):
    id: int
    user_id: int
    kind: TimeOffKind
    starts_at: datetime
    ends_at: datetime
    note: str
    status: TimeOffStatus
    requested_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None
    decision_note: str

    @classmethod
    def of(cls, row: TimeOffRequest) -> TimeOffOut:
        return cls(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            note=row.note,
            status=row.status,
            requested_at=row.requested_at,
            decided_by_id=row.decided_by_id,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
        )
