"""Customer-success tables: accounts and their hierarchy, contacts, segments, subscriptions, the ARR
movements derived from them, and monthly member utilisation."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base, JSONType
from opsdesk.core.models import Organisation, User, enum_column

Cents = BigInteger().with_variant(Integer, "sqlite")


class Stage(enum.StrEnum):
    IMPLEMENTATION = "implementation"
    LAUNCH = "launch"
    ADOPTION = "adoption"
    RENEWAL = "renewal"
    CHURNED = "churned"


class ContactRole(enum.StrEnum):
    HR_LEADER = "hr_leader"
    BENEFITS_LEADER = "benefits_leader"
    EXECUTIVE = "executive"
    CHAMPION = "champion"
    BILLING = "billing"
    OTHER = "other"


class PriceModel(enum.StrEnum):
    PEPM = "pepm"  # per employee per month x covered lives
    FLAT_ANNUAL = "flat_annual"


class MovementKind(enum.StrEnum):
    NEW_BUSINESS = "new_business"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"
    REACTIVATION = "reactivation"
    RENEWAL = "renewal"
    ESCALATOR = "escalator"


class Segment(Base):
    """A named rule set; accounts fall into the first segment (lowest ``priority``) whose rules all hold."""

    __tablename__ = "success_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]


class Account(Base):
    """An employer customer. Retention is measured at the ultimate parent of a hierarchy."""

    __tablename__ = "success_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    covered_lives: Mapped[int] = mapped_column(Integer, default=0)
    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "account_stage"), default=Stage.IMPLEMENTATION)
    stage_since: Mapped[date]
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("success_segments.id"), index=True)
    # A segment named by hand (e.g. in an import) wins over the rules until cleared.
    segment_override_id: Mapped[int | None] = mapped_column(ForeignKey("success_segments.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    parent: Mapped[Account | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Account]] = relationship(back_populates="parent")
    owner: Mapped[User | None] = relationship()
    segment: Mapped[Segment | None] = relationship(foreign_keys=[segment_id])
    organisation: Mapped[Organisation | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(back_populates="account")
    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="account")


class Contact(Base):
    """A person at the customer (HR or benefits leader, executive ...) and their role in the relationship."""

    __tablename__ = "success_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[ContactRole] = mapped_column(enum_column(ContactRole, "contact_role"))
    created_at: Mapped[datetime]

    account: Mapped[Account] = relationship(back_populates="contacts")


class Subscription(Base):
    """A contract term. ``end_date`` is the last day of service (inclusive); ARR follows from the price
    model and rises by ``escalator_pct`` at each anniversary of ``start_date`` inside the term."""

    __tablename__ = "success_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    price_model: Mapped[PriceModel] = mapped_column(enum_column(PriceModel, "price_model"))
    pepm_cents: Mapped[int | None] = mapped_column(Cents)
    covered_lives: Mapped[int | None] = mapped_column(Integer)
    flat_annual_cents: Mapped[int | None] = mapped_column(Cents)
    escalator_pct: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal(0))
    # A mid-term change ends the old term the day before and starts this one; escalator anniversaries
    # keep following the original start, and the old term's end is not a renewal.
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("success_subscriptions.id"))
    created_at: Mapped[datetime]

    account: Mapped[Account] = relationship(back_populates="subscriptions")


class ArrMovement(Base):
    """One dated change of a customer's ARR, derived from subscriptions and rebuilt when they change.
    ``customer_id`` is the ultimate parent account, so moves between children are not churn plus new.
    ``renewal_base_cents`` is the ARR whose term ended the day before (set on one row per date)."""

    __tablename__ = "success_arr_movements"
    __table_args__ = (Index("ix_success_arr_movements_customer_on", "customer_id", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"))
    effective_on: Mapped[date]
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind, "arr_movement_kind"))
    amount_cents: Mapped[int] = mapped_column(Cents)
    arr_after_cents: Mapped[int] = mapped_column(Cents)
    renewal_base_cents: Mapped[int] = mapped_column(Cents, default=0)


class Utilisation(Base):
    """One month of member engagement at one account."""

    __tablename__ = "success_utilisation"
    __table_args__ = (UniqueConstraint("account_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    month: Mapped[date]  # first day of the month
    engaged_members: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    programme_uptake_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))


class CoveredLivesMonth(Base):
    """An account's covered lives from ``month`` on (until its next row): utilisation per covered life
    is measured against the lives of its own month, not today's."""

    __tablename__ = "success_covered_lives"
    __table_args__ = (UniqueConstraint("account_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    month: Mapped[date]  # first day of the month
    covered_lives: Mapped[int] = mapped_column(Integer)
