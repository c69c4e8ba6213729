"""Voice-of-the-customer tables: escalations with their timeline and linked desk tickets, NPS responses,
and product feedback requests tagged to product areas and linked to the accounts that ask for them.
Desk tickets are referenced by their number only: success does not import desk."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import User, enum_column
from opsdesk.success.models import Account, Contact


class Severity(enum.StrEnum):
    SEV1 = "sev1"  # the customer cannot operate; executive attention now
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class RequestStatus(enum.StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    SHIPPED = "shipped"
    DECLINED = "declined"


OPEN_REQUEST_STATUSES = (RequestStatus.NEW, RequestStatus.UNDER_REVIEW, RequestStatus.PLANNED)


class Escalation(Base):
    __tablename__ = "success_escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "escalation_severity"))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    executive_sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[EscalationStatus] = mapped_column(
        enum_column(EscalationStatus, "escalation_status"), default=EscalationStatus.OPEN, index=True
    )
    opened_at: Mapped[datetime]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    executive_sponsor: Mapped[User | None] = relationship(foreign_keys=[executive_sponsor_id])
    entries: Mapped[list[EscalationEntry]] = relationship(
        back_populates="escalation",
        cascade="all, delete-orphan",
        order_by="(EscalationEntry.at, EscalationEntry.id)",
    )
    tickets: Mapped[list[EscalationTicket]] = relationship(
        back_populates="escalation", cascade="all, delete-orphan", order_by="EscalationTicket.ticket_number"
    )


class EscalationEntry(Base):
    """One dated line of the escalation's timeline: a note, or a recorded change of status or severity."""

    __tablename__ = "success_escalation_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("success_escalations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # note, status, severity, ticket
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    escalation: Mapped[Escalation] = relationship(back_populates="entries")


class EscalationTicket(Base):
    __tablename__ = "success_escalation_tickets"
    __table_args__ = (UniqueConstraint("escalation_id", "ticket_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("success_escalations.id", ondelete="CASCADE"))
    ticket_number: Mapped[int] = mapped_column(Integer, index=True)

    escalation: Mapped[Escalation] = relationship(back_populates="tickets")


class NpsResponse(Base):
    """One person's answer to "how likely are you to recommend us" (0-10); 0-6 is a detractor."""

    __tablename__ = "success_nps_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("success_contacts.id"))
    # The survey email it answers: answering again through its links changes this response.
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("success_nps_invitations.id"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime]
    created_at: Mapped[datetime]

    contact: Mapped[Contact | None] = relationship()


class NpsSchedule(Base):
    """Which contacts of a segment's accounts are asked, and how often. The schedule without a segment
    covers accounts whose segment has none of its own."""

    __tablename__ = "success_nps_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("success_segments.id"), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)  # ContactRole values
    every_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NpsInvitation(Base):
    """One survey email to one contact; its signed links record (and change) one response."""

    __tablename__ = "success_nps_invitations"
    __table_args__ = (Index("ix_success_nps_invitations_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("success_contacts.id"), index=True)
    to: Mapped[str] = mapped_column(String(320))
    status: Mapped[InvitationStatus] = mapped_column(enum_column(InvitationStatus, "nps_invitation_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    contact: Mapped[Contact] = relationship()


class ProductArea(Base):
    __tablename__ = "success_product_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class FeedbackRequest(Base):
    """A product request in the customers' words, tagged to one product area; accounts join it as askers."""

    __tablename__ = "success_feedback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    product_area_id: Mapped[int] = mapped_column(ForeignKey("success_product_areas.id"), index=True)
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus, "feedback_status"), default=RequestStatus.NEW
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    product_area: Mapped[ProductArea] = relationship()
    asks: Mapped[list[FeedbackAsk]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="FeedbackAsk.id"
    )


class FeedbackAsk(Base):
    """One account asking for a request (once per account), optionally via a contact or a desk ticket."""

    __tablename__ = "success_feedback_asks"
    __table_args__ = (UniqueConstraint("request_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("success_feedback_requests.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("success_contacts.id"))
    ticket_number: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    request: Mapped[FeedbackRequest] = relationship(back_populates="asks")
    account: Mapped[Account] = relationship()
