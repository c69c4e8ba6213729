"""Contracts (subscriptions) from a Salesforce-style contract report, keyed by "Contract ID"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success import contracts, queries
from opsdesk.success.imports.base import Checks, Row, RowError, check_rows
from opsdesk.success.models import Account, PriceModel, Subscription

T = TypeVar("T")

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
    unchanged: bool = False


def validate(
    session: Session, rows: list[Row], *, clock: Clock
) -> tuple[list[PlannedContract], list[RowError]]:
    accounts = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    known = {
        s.external_id: s
        for s in session.scalars(select(Subscription).where(Subscription.external_id.is_not(None)))
    }
    first_line: dict[str, int] = {}

    def check(row: Row) -> PlannedContract:
        checks = Checks()
        external_id = checks(lambda: row.required("Contract ID"))
        if external_id is not None and external_id in first_line:
            checks.fail(
                "Contract ID",
                f"duplicate Contract ID {external_id} (first on line {first_line[external_id]})",
            )
        elif external_id is not None:
            first_line[external_id] = row.line
        stored = known.get(external_id or "")
        account_ref = checks(lambda: row.required("Account ID"))
        if account_ref is not None and account_ref not in accounts:
            checks.fail("Account ID", f"unknown account {account_ref} (import accounts first)")
        start = checks(lambda: row.day("Contract Start Date", required=True))
        end = checks(lambda: row.day("Contract End Date", required=True))
        if start is not None and end is not None and end < start:
            checks.fail("Contract End Date", f"ends ({end}) before it starts ({start})")
        model_text = checks(lambda: row.required("Pricing Model"))
        model = MODEL_ALIASES.get(model_text.lower()) if model_text is not None else None
        if model_text is not None and model is None:
            checks.fail("Pricing Model", f"unknown pricing model {model_text!r} (PEPM or Flat Annual)")

        def kept(column: str, parse: Callable[[], T | None], stored_value: T | None) -> T | None:
            """A column the file lacks keeps the stored contract's value."""
            if stored is not None and not row.present(column):
                return stored_value
            return checks(parse)

        pepm: int | None = None
        lives: int | None = None
        flat: int | None = None
        if model is PriceModel.PEPM:
            pepm = kept(
                "PEPM Price",
                lambda: row.cents("PEPM Price", required=True),
                stored.pepm_cents if stored else None,
            )
            lives = kept(
                "Covered Lives",
                lambda: row.whole("Covered Lives", required=True),
                stored.covered_lives if stored else None,
            )
            if pepm is not None and pepm < 0:
                checks.fail("PEPM Price", "a negative price would give negative ARR")
        elif model is PriceModel.FLAT_ANNUAL:
            flat = kept(
                "Annual Contract Value",
                lambda: row.cents("Annual Contract Value", required=True),
                stored.flat_annual_cents if stored else None,
            )
            if flat is not None and flat < 0:
                checks.fail("Annual Contract Value", "ARR cannot be negative")
        escalator = kept(
            "Annual Escalator %",
            lambda: row.percent("Annual Escalator %") or Decimal(0),
            stored.escalator_pct if stored else None,
        )
        checks.settle()
        assert external_id is not None and account_ref is not None and model is not None
        assert start is not None and end is not None
        plan = PlannedContract(
            line=row.line,
            external_id=external_id,
            account=accounts[account_ref],
            start=start,
            end=end,
            price_model=model,
            pepm_cents=pepm,
            covered_lives=lives,
            flat_annual_cents=flat,
            escalator_pct=escalator or Decimal(0),
            existing=stored is not None,
        )
        plan.unchanged = stored is not None and _terms(stored) == (
            plan.account.id,
            start,
            end,
            model,
            pepm,
            lives,
            flat,
            plan.escalator_pct,
        )
        return plan

    planned, errors = check_rows(rows, check)
    return planned, errors


def _terms(sub: Subscription) -> tuple[object, ...]:
    return (
        sub.account_id,
        sub.start_date,
        sub.end_date,
        sub.price_model,
        sub.pepm_cents,
        sub.covered_lives,
        sub.flat_annual_cents,
        sub.escalator_pct,
    )


def apply(
    session: Session, planned: list[PlannedContract], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Save every contract, then rebuild the movements of the customers touched, once each."""
    roots = queries.ultimate_parents(session)
    touched: set[int] = set()
    for plan in planned:
        if plan.unchanged:
            progress(1)
            continue
        sub = session.scalar(select(Subscription).where(Subscription.external_id == plan.external_id))
        if sub is not None:
            touched.add(roots.get(sub.account_id, sub.account_id))
        contracts.save_subscription(
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
    contracts.rebuild_movements(session, touched)
    updated = sum(p.existing and not p.unchanged for p in planned)
    return sum(not p.existing for p in planned), updated
