"""Rules (triggers and time rules), what time rules have already done, and macros."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import enum_column


class RuleKind(enum.StrEnum):
    TRIGGER = "trigger"  # runs when a ticket is created or changed
    TIME = "time"  # runs every few minutes over open tickets


class Rule(Base):
    """A trigger or a time rule. ``conditions`` is ``{"all": [...], "any": [...]}``, ``actions`` a list;
    both are checked by ``automation.validation`` before they are stored."""

    __tablename__ = "automation_rules"
    __table_args__ = (Index("ix_automation_rules_kind_position", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[RuleKind] = mapped_column(enum_column(RuleKind, "rule_kind"))
    position: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # A time rule that does not falsify its own condition must be once per ticket (checked on save).
    once_per_ticket: Mapped[bool] = mapped_column(Boolean, default=False)
    # Failures in a row: the rule is switched off when this reaches the configured limit.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RuleFiring(Base):
    """That a once-per-ticket rule has fired on a ticket (the event log says so too, but this is the
    indexed answer the time-rule job asks for thousands of tickets at a time)."""

    __tablename__ = "automation_rule_firings"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("automation_rules.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime]


class Macro(Base):
    """A saved set of actions an agent applies from the ticket page: an optional reply (a template)
    and field, tag and status changes. Personal to ``owner`` unless ``shared``."""

    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    reply_template: Mapped[str] = mapped_column(Text, default="")
    reply_public: Mapped[bool] = mapped_column(Boolean, default=True)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
