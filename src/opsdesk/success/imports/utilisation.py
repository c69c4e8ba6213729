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
from opsdesk.success.imports.base import Checks, Row, RowError, check_rows, parse_date
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
    unchanged: bool = False


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
    known = {
        (u.account_id, u.month): (u.engaged_members, u.sessions, u.programme_uptake_pct)
        for u in session.scalars(select(Utilisation))
    }
    first_line: dict[tuple[str, date], int] = {}

    def check(row: Row) -> PlannedMonth:
        checks = Checks()
        account_ref = checks(lambda: row.required("Account ID"))
        if account_ref is not None and account_ref not in accounts:
            checks.fail("Account ID", f"unknown account {account_ref} (import accounts first)")
        month = checks(lambda: parse_month(row.required("Month")))
        if account_ref is not None and month is not None:
            key = (account_ref, month)
            if key in first_line:
                checks.fail(
                    "Month", f"{account_ref} {month:%Y-%m} appears twice (first on line {first_line[key]})"
                )
            else:
                first_line[key] = row.line
        engaged = checks(lambda: row.whole("Engaged Members", required=True))
        sessions = checks(lambda: row.whole("Sessions", required=True))
        uptake = checks(lambda: row.percent("Programme Uptake %", required=True))
        checks.settle()
        assert account_ref is not None and month is not None
        assert engaged is not None and sessions is not None and uptake is not None
        account = accounts[account_ref]
        stored = known.get((account.id, month))
        plan = PlannedMonth(row.line, account, month, engaged, sessions, uptake, stored is not None)
        plan.unchanged = stored == (engaged, sessions, uptake)
        return plan

    planned, errors = check_rows(rows, check)
    return planned, errors


def apply(
    session: Session, planned: list[PlannedMonth], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    for plan in planned:
        if plan.unchanged:
            progress(1)
            continue
        actions.record_utilisation(
            session,
            account=plan.account,
            month=plan.month,
            engaged_members=plan.engaged_members,
            sessions=plan.sessions,
            programme_uptake_pct=plan.programme_uptake_pct,
        )
        progress(1)
    updated = sum(p.existing and not p.unchanged for p in planned)
    return sum(not p.existing for p in planned), updated
