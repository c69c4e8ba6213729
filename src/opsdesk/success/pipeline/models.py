"""Pipeline tables: renewal and expansion opportunities and the dated history of each one.

Forecast categories follow Salesforce's standard set (pipeline, best case, commit, omitted; closed is
implied by a closed stage): each stage has a default category and a manual override wins. A renewal
opportunity's amount is the ARR up for renewal (Gainsight's "target amount"); an expansion, upsell or
cross-sell opportunity's amount is the ARR it would add.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opsdesk.core.database import Base
from opsdesk.core.models import User, enum_column
from opsdesk.success.models import Account, Cents, Subscription


class OpportunityKind(enum.StrEnum):
    RENEWAL = "renewal"
    EXPANSION = "expansion"
    UPSELL = "upsell"
    CROSS_SELL = "cross_sell"


class OpportunityStage(enum.StrEnum):
    QUALIFY = "qualify"
    DISCOVER = "discover"
    PROPOSE = "propose"
    NEGOTIATE = "negotiate"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"

    @property
    def is_closed(self) -> bool:
        return self in (OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST)


OPEN_STAGES = (
    OpportunityStage.QUALIFY,
    OpportunityStage.DISCOVER,
    OpportunityStage.PROPOSE,
    OpportunityStage.NEGOTIATE,
)


class ForecastCategory(enum.StrEnum):
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    OMITTED = "omitted"  # left out of every forecast figure


class Opportunity(Base):
    """A renewal or expansion deal on one account. ``probability_pct`` and ``category`` are manual
    overrides (None = follow the stage); ``renewal_of_id`` makes renewal generation idempotent: one
    renewal opportunity per subscription term."""

    __tablename__ = "success_opportunities"
    __table_args__ = (Index("ix_success_opportunities_close", "close_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("success_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OpportunityKind] = mapped_column(enum_column(OpportunityKind, "opportunity_kind"))
    amount_cents: Mapped[int] = mapped_column(Cents)
    stage: Mapped[OpportunityStage] = mapped_column(enum_column(OpportunityStage, "opportunity_stage"))
    probability_pct: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[ForecastCategory | None] = mapped_column(
        enum_column(ForecastCategory, "forecast_category")
    )
    close_date: Mapped[date]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("success_subscriptions.id"), unique=True)
    # The contract term a win created (renewal) or the amendment it made (expansion): set once, so a
    # second move to won changes nothing more.
    won_subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("success_subscriptions.id", name="fk_success_opportunities_won_subscription")
    )
    # The deal's id in the CRM it was imported from; re-imports update the same row.
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_on: Mapped[date | None]

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship()
    renewal_of: Mapped[Subscription | None] = relationship(foreign_keys=[renewal_of_id])
    won_subscription: Mapped[Subscription | None] = relationship(foreign_keys=[won_subscription_id])
    history: Mapped[list[OpportunityHistory]] = relationship(
        back_populates="opportunity", order_by="OpportunityHistory.id"
    )


class OpportunityHistory(Base):
    """The forecast-relevant state of an opportunity from ``at`` until the next row: appended on
    creation and on every stage, amount, close-date or override change, so the pipeline as it stood
    on any past day can be rebuilt (forecast accuracy) and stage win rates calibrated."""

    __tablename__ = "success_opportunity_history"
    __table_args__ = (Index("ix_success_opportunity_history_opp", "opportunity_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("success_opportunities.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    stage: Mapped[OpportunityStage] = mapped_column(enum_column(OpportunityStage, "opportunity_stage"))
    amount_cents: Mapped[int] = mapped_column(Cents)
    close_date: Mapped[date]
    probability_pct: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[ForecastCategory | None] = mapped_column(
        enum_column(ForecastCategory, "forecast_category")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    opportunity: Mapped[Opportunity] = relationship(back_populates="history")
