"""Request and response shapes for escalations, NPS responses and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Id, Moment, NoNulModel
from opsdesk.success.models import ContactRole
from opsdesk.success.voice.models import (
    Escalation,
    EscalationStatus,
    FeedbackRequest,
    RequestStatus,
    Severity,
)

if TYPE_CHECKING:
    from opsdesk.success.voice.queries import RankedEscalation

TicketNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


class EscalationIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Id
    severity: Severity
    title: str = Field(min_length=1, max_length=200)
    owner_id: Id | None = None
    executive_sponsor_id: Id | None = None
    ticket_numbers: list[TicketNumber] = Field(default_factory=list, max_length=200)
    note: str = Field(default="", max_length=10_000)


class EscalationUpdateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity | None = None
    status: EscalationStatus | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    owner_id: Id | None = None
    executive_sponsor_id: Id | None = None
    ticket_numbers: list[TicketNumber] | None = Field(default=None, max_length=200)
    note: str = Field(default="", max_length=10_000)


class TimelineIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=10_000)
    at: Moment | None = None


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    note: str
    author_id: int | None


class EscalationOut(BaseModel):
    id: int
    account_id: int
    severity: Severity
    title: str
    owner_id: int | None
    executive_sponsor_id: int | None
    status: EscalationStatus
    opened_at: datetime
    mitigated_at: datetime | None
    resolved_at: datetime | None
    ticket_numbers: list[int]
    timeline: list[TimelineOut]

    @classmethod
    def of(cls, row: Escalation) -> EscalationOut:
        return cls(
            id=row.id,
            account_id=row.account_id,
            severity=row.severity,
            title=row.title,
            owner_id=row.owner_id,
            executive_sponsor_id=row.executive_sponsor_id,
            status=row.status,
            opened_at=row.opened_at,
            mitigated_at=row.mitigated_at,
            resolved_at=row.resolved_at,
            ticket_numbers=[t.ticket_number for t in row.tickets],
            timeline=[TimelineOut.model_validate(e) for e in row.entries],
        )


class RankedEscalationOut(EscalationOut):
    """An escalation in the ranked list, with what ranks it: the customer's ARR today (a subsidiary's
    escalation carries its parent's) and the escalated account's covered lives."""

    account_name: str
    arr_cents: int
    covered_lives: int

    @classmethod
    def ranked(cls, row: RankedEscalation) -> RankedEscalationOut:
        return cls(
            **EscalationOut.of(row.escalation).model_dump(),
            account_name=row.escalation.account.name,
            arr_cents=row.arr_cents,
            covered_lives=row.covered_lives,
        )


class NpsIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Id
    score: int = Field(ge=0, le=10)
    responded_at: Moment
    contact_id: Id | None = None
    comment: str = Field(default="", max_length=10_000)
    external_id: str | None = Field(default=None, max_length=100)


class NpsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    contact_id: int | None
    score: int
    comment: str
    responded_at: datetime


class AskIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Id
    contact_id: Id | None = None
    ticket_number: TicketNumber | None = None
    note: str = Field(default="", max_length=10_000)


class AskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_id: int
    contact_id: int | None
    ticket_number: int | None
    note: str
    created_at: datetime


class FeedbackIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    product_area: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=20_000)
    asks: list[AskIn] = Field(default_factory=list, max_length=500)


class FeedbackUpdateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    product_area: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=20_000)
    status: RequestStatus | None = None


class FeedbackOut(BaseModel):
    id: int
    title: str
    description: str
    product_area: str
    status: RequestStatus
    created_at: datetime
    asks: list[AskOut]

    @classmethod
    def of(cls, row: FeedbackRequest) -> FeedbackOut:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            product_area=row.product_area.name,
            status=row.status,
            created_at=row.created_at,
            asks=[AskOut.model_validate(a) for a in row.asks],
        )


class RankedRequestOut(BaseModel):
    rank: int
    request_id: int
    title: str
    product_area: str
    status: RequestStatus
    accounts: int
    arr_cents: int
    covered_lives: int


class RankedAreaOut(BaseModel):
    rank: int
    product_area: str
    requests: int
    accounts: int
    arr_cents: int
    covered_lives: int


class RankingOut(BaseModel):
    product_areas: list[RankedAreaOut]
    requests: list[RankedRequestOut]


class NpsScheduleIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    segment_id: Id | None = Field(
        default=None, description="None: every segment without a schedule of its own"
    )
    roles: list[ContactRole] = Field(min_length=1, max_length=10, description="The contact roles asked")
    every_days: int = Field(ge=30, le=730, description="Days between two surveys of one contact")
    active: bool = True


class NpsScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    segment_id: int | None
    roles: list[str]
    every_days: int
    active: bool
    updated_at: datetime


class NpsSummaryOut(BaseModel):
    account_id: int
    nps: float | None = Field(description="% promoters (9-10) - % detractors (0-6), last 12 months")
    responses: int
    promoters: int
    passives: int
    detractors: int
