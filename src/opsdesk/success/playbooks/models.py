"""Playbook tables: definitions with one trigger and ordered task templates, the episodes each playbook
has fired on (the UNIQUE key that makes firing exactly-once), the tasks CSMs work, and success plans."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import User, enum_column
from opsdesk.success.models import Account


class TriggerKind(enum.StrEnum):
    RENEWAL_WITHIN = "renewal_within"  # a term in force ends within ``days``
    HEALTH_RED = "health_red"  # the health band changed to red and is still red
    UTILISATION_BELOW = "utilisation_below"  # engagement below ``pct`` for ``months`` completed months
    STAGE_CHANGED = "stage_changed"  # the account moved to stage ``to`` (optionally from ``from``)
    NPS_DETRACTOR = "nps_detractor"  # an NPS response scored at most ``max_score`` (6)
    ESCALATION_OPENED = "escalation_opened"  # an escalation was opened (optionally only some severities)


class OwnerRule(enum.StrEnum):
    ACCOUNT_CSM = "account_csm"
    CS_LEAD = "cs_lead"
    NAMED_USER = "named_user"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ObjectiveStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    ACHIEVED = "achieved"
    MISSED = "missed"


class Playbook(Base):
    """A named play: when its trigger holds for an account, its templates become that account's tasks.
    Event-driven triggers only look at events from ``created_at`` on, so a new playbook never replays
    history."""

    __tablename__ = "success_playbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    trigger_kind: Mapped[TriggerKind] = mapped_column(enum_column(TriggerKind, "playbook_trigger_kind"))
    trigger_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    templates: Mapped[list[TaskTemplate]] = relationship(
        back_populates="playbook", cascade="all, delete-orphan", order_by="TaskTemplate.position"
    )


class TaskTemplate(Base):
    """One task a playbook creates: due ``due_offset_days`` after the episode fires, owned by the rule's
    user, with an optional email draft whose {placeholders} are filled from the account."""

    __tablename__ = "success_task_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(
        ForeignKey("success_playbooks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_offset_days: Mapped[int] = mapped_column(Integer, default=0)
    owner_rule: Mapped[OwnerRule] = mapped_column(enum_column(OwnerRule, "task_owner_rule"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email_subject: Mapped[str | None] = mapped_column(String(300))
    email_body: Mapped[str | None] = mapped_column(Text)
    # Sent as soon as the playbook fires unless the CSM (or a lead) must read and approve it first.
    email_needs_approval: Mapped[bool] = mapped_column(Boolean, default=True)

    playbook: Mapped[Playbook] = relationship(back_populates="templates")
    owner_user: Mapped[User | None] = relationship()


class PlaybookEpisode(Base):
    """A condition episode a playbook has fired on. The unique key is what makes a rerun, a restart or a
    concurrent run create the episode's tasks at most once: it is inserted with the tasks."""

    __tablename__ = "success_playbook_episodes"
    __table_args__ = (UniqueConstraint("playbook_id", "account_id", "episode_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("success_playbooks.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    episode_key: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(300))
    fired_at: Mapped[datetime]


class Task(Base):
    """A piece of CSM work on an account, from a playbook or added by hand. ``email_*`` is the rendered
    email of a playbook step, addressed to the account's primary contact; it goes out as a
    :class:`TaskEmail` when the playbook fires, or once approved when the step asks for approval."""

    __tablename__ = "success_tasks"
    __table_args__ = (Index("ix_success_tasks_owner_status_due", "owner_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    playbook_id: Mapped[int | None] = mapped_column(
        ForeignKey("success_playbooks.id", ondelete="SET NULL"), index=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("success_playbook_episodes.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "task_status"), default=TaskStatus.OPEN
    )
    due_on: Mapped[date]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email_subject: Mapped[str | None] = mapped_column(String(300))
    email_body: Mapped[str | None] = mapped_column(Text)
    email_to: Mapped[str | None] = mapped_column(String(320))
    email_needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship()
    emails: Mapped[list[TaskEmail]] = relationship(back_populates="task", order_by="TaskEmail.id")


class TaskEmail(Base):
    """A task's email on its way to (or delivered by) the SMTP server: a claimed queue like the desk's
    outbound mail. ``rfc_message_id`` is minted when first claimed and kept across retries; the emails
    of one playbook episode to one address form one thread (In-Reply-To/References), and a reply that
    quotes the Message-ID is shown on the account's timeline."""

    __tablename__ = "success_task_emails"
    __table_args__ = (Index("ix_success_task_emails_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("success_tasks.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("success_playbook_episodes.id", ondelete="SET NULL")
    )
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    from_name: Mapped[str] = mapped_column(String(200))
    rfc_message_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EmailStatus] = mapped_column(enum_column(EmailStatus, "task_email_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship(back_populates="emails")
    approved_by: Mapped[User | None] = relationship()


class SuccessPlan(Base):
    """What the customer wants to achieve and by when; the CSM's plan for the account."""

    __tablename__ = "success_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    objectives: Mapped[list[PlanObjective]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanObjective.id"
    )


class PlanObjective(Base):
    __tablename__ = "success_plan_objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("success_plans.id", ondelete="CASCADE"), index=True)
    objective: Mapped[str] = mapped_column(Text)
    target_date: Mapped[date]
    status: Mapped[ObjectiveStatus] = mapped_column(
        enum_column(ObjectiveStatus, "objective_status"), default=ObjectiveStatus.NOT_STARTED
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    plan: Mapped[SuccessPlan] = relationship(back_populates="objectives")
