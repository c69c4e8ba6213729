"""Phone calls: one row per provider call, holding its state-machine times and its ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import User, enum_column
from opsdesk.desk.channels.phone.calls import CallState, CallTimes
from opsdesk.desk.models import Ticket


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        # The wrap-up sweep reads calls whose wrap-up default has run out.
        Index("ix_calls_state_wrap_due", "state", "wrap_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    caller: Mapped[str] = mapped_column(String(32), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    queue: Mapped[str | None] = mapped_column(String(100))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[CallState] = mapped_column(enum_column(CallState, "call_state"))
    started_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    hold_started_at: Mapped[datetime | None]
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    ended_at: Mapped[datetime | None]
    wrap_due_at: Mapped[datetime | None]
    wrap_ended_at: Mapped[datetime | None]
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    voicemail: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_url: Mapped[str | None] = mapped_column(String(2000))
    voicemail_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    ticket: Mapped[Ticket | None] = relationship()
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])

    def times(self) -> CallTimes:
        return CallTimes(
            state=self.state,
            started_at=self.started_at,
            queued_at=self.queued_at,
            answered_at=self.answered_at,
            hold_started_at=self.hold_started_at,
            hold_s=self.hold_s,
            ended_at=self.ended_at,
            wrap_ended_at=self.wrap_ended_at,
            abandoned=self.abandoned,
            voicemail=self.voicemail,
        )

    def set_times(self, times: CallTimes) -> None:
        for name in (
            "state",
            "started_at",
            "queued_at",
            "answered_at",
            "hold_started_at",
            "hold_s",
            "ended_at",
            "wrap_ended_at",
            "abandoned",
            "voicemail",
        ):
            setattr(self, name, getattr(times, name))
