"""Lifecycle tables: who owns each phase of an account besides its CSM, and the hand-off checklist a
lead has configured for a stage transition (the defaults in ``handoff`` apply where none is stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import User, enum_column
from opsdesk.success.lifecycle.phases import Phase
from opsdesk.success.models import Stage


class PhaseOwner(Base):
    """The person who owns one phase of one account. The post-launch phase is the account's CSM
    (``Account.owner``) and is never stored here, so there is one source for who the CSM is."""

    __tablename__ = "success_phase_owners"
    __table_args__ = (UniqueConstraint("account_id", "phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"))
    phase: Mapped[Phase] = mapped_column(enum_column(Phase, "lifecycle_phase"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    updated_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class HandoffChecklist(Base):
    """The checklist and hand-off tasks of one stage transition, replacing the default for it.
    ``items``: ``[{"kind": "check"|"task", "text": str, "required": bool, "due_days": int}]``."""

    __tablename__ = "success_handoff_checklists"
    __table_args__ = (UniqueConstraint("from_stage", "to_stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_stage: Mapped[Stage] = mapped_column(enum_column(Stage, "account_stage"))
    to_stage: Mapped[Stage] = mapped_column(enum_column(Stage, "account_stage"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
