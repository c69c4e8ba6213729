"""Monthly member utilisation per account, keyed by account and month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success import actions
from opsdesk.success.imports.base import CellError, Row, RowError, check_rows, parse_date
from opsdesk.success.models import Account, Utilisation

REQUIRED = ["Account ID", "Month", "Engaged Members", "Sessions", "Programme Uptake %"]
OPTIONAL: list[str] = []


@dataclass
class PlannedMonth:
    line: int
    account: Account
    month: date
    engaged_members: int
    sessions: int
    programme_uptake_pct: Decimal
    existing: bool


def parse_month(value: str) -> date:
    """``2026-01`` or any date inside the month."""
    text = value.strip()
    if len(text) == 7 and text[4] == "-":
        text += "-01"
    return parse_date("Month", text).replace(day=1)


def validate(session: Session, rows: list[Row], *, clock: Clock) -> tuple[list[PlannedMonth], list[RowError]]:
    accounts = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    known = {(row[0], row[1]) for row in session.execute(select(Utilisation.account_id, Utilisation.month))}
    first_line: dict[tuple[str, date], int] = {}

    def check(row: Row) -> PlannedMonth:
        account_ref = row.required("Account ID")
        if account_ref not in accounts:
            raise CellError("Account ID", f"unknown account {account_ref} (import accounts first)")
        month = parse_month(row.required("Month"))
        key = (account_ref, month)
        if key in first_line:
            raise CellError(
                "Month", f"{account_ref} {month:%Y-%m} appears twice (first on line {first_line[key]})"
            )
        first_line[key] = row.line
        engaged, sessions = row.whole("Engaged Members", required=True), row.whole("Sessions", required=True)
        uptake = row.percent("Programme Uptake %", required=True)
        assert engaged is not None and sessions is not None and uptake is not None
        account = accounts[account_ref]
        return PlannedMonth(row.line, account, month, engaged, sessions, uptake, (account.id, month) in known)

    planned, errors = check_rows(rows, check)
    return planned, errors


def apply(
    session: Session, planned: list[PlannedMonth], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    for plan in planned:
        actions.record_utilisation(
            session,
            account=plan.account,
            month=plan.month,
            engaged_members=plan.engaged_members,
            sessions=plan.sessions,
            programme_uptake_pct=plan.programme_uptake_pct,
        )
        progress(1)
    updated = sum(p.existing for p in planned)
    return len(planned) - updated, updated
