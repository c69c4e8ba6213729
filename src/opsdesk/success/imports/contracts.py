"""Contracts (subscriptions) from a Salesforce-style contract report, keyed by "Contract ID"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success import actions, queries
from opsdesk.success.imports.base import CellError, Row, RowError, check_rows
from opsdesk.success.models import Account, PriceModel, Subscription

REQUIRED = ["Contract ID", "Account ID", "Contract Start Date", "Contract End Date", "Pricing Model"]
OPTIONAL = ["PEPM Price", "Covered Lives", "Annual Contract Value", "Annual Escalator %"]
MODEL_ALIASES = {
    "pepm": PriceModel.PEPM,
    "per employee per month": PriceModel.PEPM,
    "flat annual": PriceModel.FLAT_ANNUAL,
    "flat": PriceModel.FLAT_ANNUAL,
    "flat_annual": PriceModel.FLAT_ANNUAL,
}


@dataclass
class PlannedContract:
    line: int
    external_id: str
    account: Account
    start: date
    end: date
    price_model: PriceModel
    pepm_cents: int | None
    covered_lives: int | None
    flat_annual_cents: int | None
    escalator_pct: Decimal
    existing: bool


def validate(
    session: Session, rows: list[Row], *, clock: Clock
) -> tuple[list[PlannedContract], list[RowError]]:
    accounts = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    known = set(
        session.scalars(select(Subscription.external_id).where(Subscription.external_id.is_not(None)))
    )
    first_line: dict[str, int] = {}

    def check(row: Row) -> PlannedContract:
        external_id = row.required("Contract ID")
        if external_id in first_line:
            raise CellError(
                "Contract ID",
                f"duplicate Contract ID {external_id} (first on line {first_line[external_id]})",
            )
        first_line[external_id] = row.line
        account_ref = row.required("Account ID")
        if account_ref not in accounts:
            raise CellError("Account ID", f"unknown account {account_ref} (import accounts first)")
        start, end = (
            row.day("Contract Start Date", required=True),
            row.day("Contract End Date", required=True),
        )
        assert start is not None and end is not None
        if end < start:
            raise CellError("Contract End Date", f"ends ({end}) before it starts ({start})")
        model_text = row.required("Pricing Model")
        model = MODEL_ALIASES.get(model_text.lower())
        if model is None:
            raise CellError("Pricing Model", f"unknown pricing model {model_text!r} (PEPM or Flat Annual)")
        pepm = lives = flat = None
        if model is PriceModel.PEPM:
            pepm = row.cents("PEPM Price", required=True)
            lives = row.whole("Covered Lives", required=True)
            if pepm is not None and pepm < 0:
                raise CellError("PEPM Price", "a negative price would give negative ARR")
        else:
            flat = row.cents("Annual Contract Value", required=True)
            if flat is not None and flat < 0:
                raise CellError("Annual Contract Value", "ARR cannot be negative")
        return PlannedContract(
            line=row.line,
            external_id=external_id,
            account=accounts[account_ref],
            start=start,
            end=end,
            price_model=model,
            pepm_cents=pepm,
            covered_lives=lives,
            flat_annual_cents=flat,
            escalator_pct=row.percent("Annual Escalator %") or Decimal(0),
            existing=external_id in known,
        )

    planned, errors = check_rows(rows, check)
    return planned, errors


def apply(
    session: Session, planned: list[PlannedContract], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Save every contract, then rebuild the movements of the customers touched, once each."""
    roots = queries.ultimate_parents(session)
    touched: set[int] = set()
    for plan in planned:
        sub = session.scalar(select(Subscription).where(Subscription.external_id == plan.external_id))
        if sub is not None:
            touched.add(roots.get(sub.account_id, sub.account_id))
        actions.save_subscription(
            session,
            account=plan.account,
            start=plan.start,
            end=plan.end,
            price_model=plan.price_model,
            pepm_cents=plan.pepm_cents,
            covered_lives=plan.covered_lives,
            flat_annual_cents=plan.flat_annual_cents,
            escalator_pct=plan.escalator_pct,
            external_id=plan.external_id,
            clock=clock,
            rebuild=False,
        )
        touched.add(roots.get(plan.account.id, plan.account.id))
        progress(1)
    actions.rebuild_movements(session, touched)
    updated = sum(p.existing for p in planned)
    return len(planned) - updated, updated
