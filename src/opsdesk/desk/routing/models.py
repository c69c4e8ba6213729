"""Routing tables: settings, group choice, skills and languages, agent presence and capacity, the queue's
extra facts, site shifts (business hours and the published schedule) and follow-the-sun hand-overs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import BigId, Group, Site, User, enum_column
from opsdesk.desk.routing.router import Choice

DEFAULT_CAPACITY = {"chat": 3, "call": 1, "ticket": 8}


class PresenceStatus(enum.StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class RoutingSettings(Base):
    """The desk's one row of routing settings (id 1)."""

    __tablename__ = "routing_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    choice: Mapped[Choice] = mapped_column(
        enum_column(Choice, "routing_choice"), default=Choice.SPARE_CAPACITY
    )
    # After this wait a ticket may go to agents without its skills; None: never.
    skill_timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    # An online agent not seen (no page, console or heartbeat) for this long is turned away.
    auto_away_seconds: Mapped[int] = mapped_column(Integer, default=600)
    # Capacity per kind (chat, call, ticket) for agents with no capacity of their own.
    default_capacity: Mapped[dict[str, Any]] = mapped_column(JSONType, default=lambda: dict(DEFAULT_CAPACITY))
    # The language of a ticket whose requester and fields name none.
    default_language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class RoutingGroup(Base):
    """A group's routing choice, and the round-robin pointer (the agent who got its latest item)."""

    __tablename__ = "routing_groups"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    choice: Mapped[Choice | None] = mapped_column(enum_column(Choice, "routing_choice"))
    last_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    group: Mapped[Group] = relationship()


class Skill(Base):
    """A skill agents hold (``User.skills``) and tickets need: a ticket needs it when it carries one of
    ``match_tags`` (or the skill's own name as a tag)."""

    __tablename__ = "routing_skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    match_tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str] = mapped_column(String(500), default="")


class Language(Base):
    """A language the desk routes by (``User.languages``; a ticket's ``language`` field or requester)."""

    __tablename__ = "routing_languages"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class AgentPresence(Base):
    """An agent's status now (the event log keeps every change), capacity and routing bookkeeping."""

    __tablename__ = "agent_presence"
    __table_args__ = (Index("ix_agent_presence_status", "status"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[PresenceStatus] = mapped_column(enum_column(PresenceStatus, "presence_status"))
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    in_chats: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    last_assigned_at: Mapped[datetime | None]
    # Per kind (chat, call, ticket); a missing kind takes the desk's default capacity.
    capacity: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    user: Mapped[User] = relationship()


class QueueEntry(Base):
    """What the queue knows of a waiting ticket beyond the ticket row: since when it waits (for the skill
    time-out and age), who had it before, and the site a hand-over sends it to."""

    __tablename__ = "routing_queue"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    queued_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(40))
    previous_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))


class SiteShift(Base):
    """A site's working hours for routing and hand-over (an SLA business schedule; none: 24x7), and
    whether the hand-over job last saw it on shift."""

    __tablename__ = "routing_sites"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("business_schedules.id", ondelete="SET NULL"))
    on_shift: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_at: Mapped[datetime | None]

    site: Mapped[Site] = relationship()


class AgentShift(Base):
    """One shift of the published schedule: when it exists for an agent, it decides when they are on
    shift instead of their site's hours. An ``absence`` (approved time off) overrides both: the agent is
    off shift through it whatever else is published."""

    __tablename__ = "agent_shifts"
    __table_args__ = (Index("ix_agent_shifts_user_start", "user_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    absence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Handover(Base):
    """A ticket handed from a site whose shift ended to the next site on shift, with its note."""

    __tablename__ = "routing_handovers"
    __table_args__ = (Index("ix_routing_handovers_from_at", "from_site_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    to_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    from_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
