"""A shift offered from one agent to another, and where it stands."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import User, enum_column


class SwapStatus(enum.StrEnum):
    OFFERED = "offered"  # waits for the colleague
    ACCEPTED = "accepted"  # waits for a lead
    APPROVED = "approved"  # the shift is the colleague's now
    REJECTED = "rejected"  # declined by the colleague or rejected by a lead
    WITHDRAWN = "withdrawn"  # taken back by the offering agent before a lead approved it


class ShiftSwap(Base):
    __tablename__ = "shift_swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The published shift (routing's agent_shifts row); gone with it if the schedule is re-published.
    shift_id: Mapped[int] = mapped_column(ForeignKey("agent_shifts.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[SwapStatus] = mapped_column(enum_column(SwapStatus, "swap_status"), index=True)
    offered_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    from_user: Mapped[User] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User] = relationship(foreign_keys=[to_user_id])
